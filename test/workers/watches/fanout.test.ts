// Fanout (src/workers/watches/fanout.ts) over a WatchTable: one frame per event, shared by every
// session it goes to; which watches fire and which are consumed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventType, WatcherType } from '../../../src/common/zk.js';
import { JuteReader } from '../../../src/protocol/jute/index.js';
import { WatchKind } from '../../../src/shm/records.js';
import { Fanout, type FrameTarget } from '../../../src/workers/watches/fanout.js';
import { WatchBit, WatchTable, persistentBits, recursiveBits, watcherTypeBits } from '../../../src/workers/watches/table.js';

describe('WatchTable and Fanout', () => {
  class Sink implements FrameTarget {
    frames: Buffer[] = [];
    writeShared(frame: Buffer): void {
      this.frames.push(frame);
    }
  }
  function setup(slots: number): { table: WatchTable; sinks: Sink[]; fanout: Fanout<Sink>; allocs: number[] } {
    const table = new WatchTable();
    const sinks = Array.from({ length: slots }, () => new Sink());
    const allocs: number[] = [];
    const fanout = new Fanout(table, (slot) => sinks[slot] ?? null, (n) => {
      allocs.push(n);
      return Buffer.alloc(n);
    });
    return { table, sinks, fanout, allocs };
  }

  it('encodes one frame per event and hands the same bytes to every session', () => {
    const { table, sinks, fanout, allocs } = setup(50);
    for (let s = 0; s < 50; s++) table.add(s, '/cfg', WatchKind.data);
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/cfg'), 50);
    assert.equal(allocs.length, 1);
    const f = sinks[0]!.frames[0]!;
    assert.ok(sinks.every((k) => k.frames.length === 1 && k.frames[0] === f));
    const r = new JuteReader(f);
    assert.equal(r.readInt(), f.length - 4);
    assert.deepEqual([r.readInt(), r.readLong(), r.readInt()], [-1, -1, 0]);
    assert.deepEqual([r.readInt(), r.readInt(), r.readString()], [EventType.nodeDataChanged, 3, '/cfg']);
    assert.equal(table.watchCount, 0, 'one-shot watches consumed');
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/cfg'), 0);
    assert.equal(allocs.length, 1, 'nothing encoded when nobody watches');
  });

  it('notifies a session once per trigger however many watches match', () => {
    const { table, sinks, fanout } = setup(2);
    table.add(0, '/a/b', WatchKind.data);
    table.add(0, '/a/b', WatchKind.child);
    table.add(0, '/a/b', WatchKind.persistent);
    table.add(0, '/a', WatchKind.persistentRecursive);
    table.add(0, '/', WatchKind.persistentRecursive);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/a/b'), 1);
    assert.equal(sinks[0]!.frames.length, 1);
    assert.equal(table.bitsOf(0, '/a/b'), persistentBits, 'data and child consumed, persistent kept');
  });

  it('removes by watcher type and tracks recursive paths', () => {
    const { table, fanout, sinks } = setup(3);
    table.add(1, '/r', WatchKind.persistentRecursive);
    table.add(2, '/r', WatchKind.data);
    assert.equal(table.remove(1, '/r', watcherTypeBits(WatcherType.persistent)), 0);
    assert.notEqual(table.remove(1, '/r', watcherTypeBits(WatcherType.persistentRecursive)), 0);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/r/x'), 0);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/r'), 1);
    assert.equal(sinks[2]!.frames.length, 1);
    assert.equal(table.pathCount, 0);
    assert.equal(watcherTypeBits(42), 0);
  });

  it('sees a persistent or recursive watch as a data and a child watch, each half on its own', () => {
    const { table, fanout, sinks } = setup(2);
    const data = watcherTypeBits(WatcherType.data);
    const children = watcherTypeBits(WatcherType.children);
    table.add(0, '/p', WatchKind.persistent);
    table.add(1, '/r', WatchKind.persistentRecursive);
    assert.equal(table.watchCount, 4, 'each in both of ZooKeeper 3.8\'s managers');
    for (const [slot, path] of [[0, '/p'], [1, '/r']] as const) {
      assert.notEqual(table.bitsOf(slot, path) & data, 0);
      assert.notEqual(table.bitsOf(slot, path) & children, 0);
    }
    // The persistent watch without its data half: children and deletion only.
    assert.equal(table.remove(0, '/p', data), WatchBit.persistentData);
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/p'), 0);
    assert.equal(fanout.deliver(EventType.nodeChildrenChanged, '/p'), 1);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/p'), 1);
    assert.equal(table.bitsOf(0, '/p'), WatchBit.persistentChild, 'still there');
    // The recursive watch without its child half: everything below but childrenChanged, as before.
    assert.equal(table.remove(1, '/r', children), WatchBit.recursiveChild);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/r/a/b'), 1);
    assert.equal(fanout.deliver(EventType.nodeChildrenChanged, '/r'), 0);
    // ... and without its data half too: gone, and no longer walked for descendants.
    assert.equal(table.remove(1, '/r', data), WatchBit.recursiveData);
    assert.equal(table.bitsOf(1, '/r'), 0);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/r/a'), 0);
    // A recursive watch with only its child half fires for deletions below, nothing else.
    table.add(1, '/q', WatchKind.persistentRecursive);
    table.remove(1, '/q', data);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/q/x'), 0);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/q/x'), 1);
    assert.equal(table.bitsOf(1, '/q'), WatchBit.recursiveChild);
    assert.equal(sinks[0]!.frames.length + sinks[1]!.frames.length, 4);
    assert.equal(recursiveBits & persistentBits, 0);
  });

  it('hands the frame to `send` with each target (the worker sends through its Output), never to a slot with none', () => {
    const table = new WatchTable();
    const sinks = [new Sink(), null, new Sink()];
    const sent: Array<[Sink, Buffer]> = [];
    const fanout = new Fanout(
      table,
      (slot) => sinks[slot] ?? null,
      (n) => Buffer.alloc(n),
      () => true,
      (t: Sink, frame) => sent.push([t, frame]),
    );
    for (let s = 0; s < 3; s++) table.add(s, '/x', WatchKind.data);
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/x'), 3);
    assert.deepEqual(sent.map(([t]) => sinks.indexOf(t)), [0, 2]);
    assert.equal(sent[0]![1], sent[1]![1], 'one frame for every target');
    assert.ok(sinks.every((k) => k === null || k.frames.length === 0), 'writeShared itself is not called');
  });
});
