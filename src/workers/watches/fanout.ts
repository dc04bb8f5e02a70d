// One event record in, one WatcherEvent frame out to every session it notifies. The frame is the
// same bytes for every session (xid -1, zxid -1, err 0, SyncConnected, type, path), so it is
// encoded once, lazily on the first hit, and the same Buffer is queued on every connection.
//
// The notification header's zxid is -1, as ZooKeeper 3.8's NIOServerCnxn.process writes it
// (`new ReplyHeader(ClientCnxn.NOTIFICATION_XID, -1L, 0)`); 3.9 started sending the event's zxid.
//
// An event can carry its readers (CVE-2024-23944): a session they do not admit is skipped, as
// ZooKeeper 3.8.4's ServerCnxn.process drops an event for a watcher without READ on the node.
// Its one-shot watch is consumed all the same (ZooKeeper removes it before the check).

import { Err, KeeperState, Xid } from '../../common/zk.js';
import type { EventReaders } from '../../shm/records.js';
import type { WatchHitSink, WatchTable } from './table.js';

/** Where an event frame goes: a connection's output queue. */
export interface FrameTarget {
  writeShared(frame: Buffer): void;
}

/** Bytes of a notification frame, length prefix included, for a path of `pathBytes`. */
export function eventFrameBytes(pathBytes: number): number {
  return 4 + 16 + 12 + pathBytes;
}

/** Encode a notification frame (length prefix included) at `off` of `buf`. */
export function encodeEventFrame(
  buf: Buffer,
  off: number,
  type: number,
  path: string,
  pathBytes: number,
): void {
  buf.writeInt32BE(eventFrameBytes(pathBytes) - 4, off);
  buf.writeInt32BE(Xid.notification, off + 4);
  buf.writeInt32BE(-1, off + 8); // zxid -1 (two halves of a jute long)
  buf.writeInt32BE(-1, off + 12);
  buf.writeInt32BE(Err.ok, off + 16); // err
  buf.writeInt32BE(type, off + 20);
  buf.writeInt32BE(KeeperState.syncConnected, off + 24);
  buf.writeInt32BE(pathBytes, off + 28);
  buf.write(path, off + 32, pathBytes, 'utf8');
}

/** Allocates the frame memory (a view into the worker's output slab in production). */
export type FrameAllocator = (bytes: number) => Buffer;

/** May the session in `slot` see an event these readers restrict? */
export type ReadCheck = (slot: number, readers: EventReaders) => boolean;

/** Sends the shared frame to one target (the worker's Output.writeShared in production). */
export type FrameSend<T extends FrameTarget> = (target: T, frame: Buffer) => void;

function writeShared(target: FrameTarget, frame: Buffer): void {
  target.writeShared(frame);
}

export class Fanout<T extends FrameTarget = FrameTarget> implements WatchHitSink {
  readonly #watches: WatchTable;
  readonly #target: (slot: number) => T | null;
  readonly #alloc: FrameAllocator;
  readonly #mayRead: ReadCheck;
  readonly #send: FrameSend<T>;
  #frame: Buffer | null = null;
  #type = 0;
  #path = '';
  #readers: EventReaders | null = null;
  #filtered = 0;

  /**
   * `target(slot)`: the connection of the session in `slot`, or null when it has none (a local
   * session between connections: its watches were dropped with the connection, so only a
   * targeted event can ask for it). `mayRead(slot, readers)`: the READ check of a restricted
   * event; without one, every session passes. `send(target, frame)`: how the frame reaches a
   * target (by default its writeShared; the worker's Output decides whether the connection needs
   * the end-of-turn flush, so a fan-out that writes every frame at once marks nothing).
   */
  constructor(
    watches: WatchTable,
    target: (slot: number) => T | null,
    alloc: FrameAllocator,
    mayRead: ReadCheck = () => true,
    send: FrameSend<T> = writeShared,
  ) {
    this.#watches = watches;
    this.#target = target;
    this.#alloc = alloc;
    this.#mayRead = mayRead;
    this.#send = send;
  }

  /** Events held back from a session by the READ filter, since the worker started. */
  get filteredCount(): number {
    return this.#filtered;
  }

  /**
   * Fire the watches of `path` for an event of `type`, shown only to the sessions `readers`
   * admit (null: all); returns the sessions whose watches matched.
   */
  deliver(type: number, path: string, readers: EventReaders | null = null): number {
    this.#frame = null;
    this.#type = type;
    this.#path = path;
    this.#readers = readers;
    const n = this.#watches.trigger(type, path, this);
    this.#frame = null;
    this.#readers = null;
    return n;
  }

  /** A targeted event (setWatches found the watch already triggered): one session, no table. */
  deliverTo(target: FrameTarget, type: number, path: string): void {
    target.writeShared(this.#encode(type, path));
  }

  hit(slot: number): void {
    const t = this.#target(slot);
    if (t === null) return;
    const readers = this.#readers;
    if (readers !== null && !this.#mayRead(slot, readers)) {
      this.#filtered++;
      return;
    }
    let frame = this.#frame;
    if (frame === null) {
      frame = this.#encode(this.#type, this.#path);
      this.#frame = frame;
    }
    this.#send(t, frame);
  }

  #encode(type: number, path: string): Buffer {
    const pathBytes = Buffer.byteLength(path, 'utf8');
    const frame = this.#alloc(eventFrameBytes(pathBytes));
    encodeEventFrame(frame, 0, type, path, pathBytes);
    return frame;
  }
}
