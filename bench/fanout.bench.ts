// Micro-benchmark: one watch event fanned out to 10K watching sessions of one worker.
//
//   node dist/bench/fanout.bench.js          (after `npx tsc -b`)
//
// Tasks (each iteration is one event on /config that every session watches):
//   match only                WatchTable.trigger with a sink that only counts (the table's cost)
//   encode once (Fanout)      the worker's path: one WatcherEvent frame in the output slab, the
//                             same Buffer queued on every connection
//   encode per session        the naive path: a frame allocated and encoded for each session
//   one-shot watches          encode once, but the watches are data watches: consumed by the
//                             trigger and registered again (a watchRegister per session) each time
//   recursive on /            10K persistent-recursive watches on '/', event on /a/b/c/config

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { EventType } from '../src/common/zk.js';
import { WatchKind } from '../src/shm/records.js';
import { OutSlab } from '../src/workers/conn.js';
import {
  Fanout,
  encodeEventFrame,
  eventFrameBytes,
  type FrameTarget,
} from '../src/workers/watches/fanout.js';
import { WatchTable, type WatchHitSink } from '../src/workers/watches/table.js';

const sessions = 10_000;
const path = '/config';

/** Stands in for a connection's output queue: keeps the frames queued since the last flush. */
class QueueTarget implements FrameTarget {
  readonly out: Buffer[] = [];
  writeShared(frame: Buffer): void {
    this.out.push(frame);
  }
  flush(): void {
    this.out.length = 0;
  }
}

function table(kind: number, at: string): WatchTable {
  const t = new WatchTable();
  for (let s = 0; s < sessions; s++) t.add(s, at, kind);
  return t;
}

export async function run(): Promise<void> {
  const targets = Array.from({ length: sessions }, () => new QueueTarget());
  const flushAll = (): void => {
    for (const t of targets) t.flush();
  };
  const slab = new OutSlab();
  const alloc = (bytes: number): Buffer => {
    const off = slab.reserve(bytes);
    return slab.buf.subarray(off, off + bytes);
  };
  const persistent = table(WatchKind.persistent, path);
  const oneShot = table(WatchKind.data, path);
  const recursive = table(WatchKind.persistentRecursive, '/');
  const once = new Fanout(persistent, (slot) => targets[slot] ?? null, alloc);
  const onceOneShot = new Fanout(oneShot, (slot) => targets[slot] ?? null, alloc);
  const onceRecursive = new Fanout(recursive, (slot) => targets[slot] ?? null, alloc);

  let hits = 0;
  const counter: WatchHitSink = { hit: () => void hits++ };
  const pathBytes = Buffer.byteLength(path);
  const perSession: WatchHitSink = {
    hit(slot: number): void {
      const frame = Buffer.allocUnsafe(eventFrameBytes(pathBytes));
      encodeEventFrame(frame, 0, EventType.nodeDataChanged, path, pathBytes);
      targets[slot]!.writeShared(frame);
    },
  };

  const bench = new Bench({ name: 'fanout', time: 500 });
  bench.add(`match only: ${sessions} sessions`, () => {
    persistent.trigger(EventType.nodeDataChanged, path, counter);
  });
  bench.add(`encode once (Fanout): ${sessions} sessions`, () => {
    once.deliver(EventType.nodeDataChanged, path);
    flushAll();
  });
  bench.add(`encode per session: ${sessions} sessions`, () => {
    persistent.trigger(EventType.nodeDataChanged, path, perSession);
    flushAll();
  });
  bench.add(`one-shot watches, re-registered: ${sessions} sessions`, () => {
    onceOneShot.deliver(EventType.nodeDataChanged, path);
    flushAll();
    for (let s = 0; s < sessions; s++) oneShot.add(s, path, WatchKind.data);
  });
  bench.add(`recursive on /: ${sessions} sessions, event 4 levels down`, () => {
    onceRecursive.deliver(EventType.nodeCreated, '/a/b/c/config');
    flushAll();
  });
  await bench.run();

  console.log(`fanout bench (node ${process.version}); ${hits} counted hits`);
  console.table(
    bench.tasks.map((t) => {
      const r = t.result;
      const mean = 'latency' in r ? r.latency.mean : 0;
      const rme = 'latency' in r ? r.latency.rme : 0;
      return {
        task: t.name,
        'µs/event': (mean * 1000).toFixed(1),
        'ns/session': ((mean * 1e6) / sessions).toFixed(1),
        '±%': rme.toFixed(1),
      };
    }),
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
