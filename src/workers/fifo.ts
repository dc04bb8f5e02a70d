// One session's requests in flight at the main thread, oldest first. The main thread answers a
// session's requests in order (records.ts), so a reply always matches the head; the entry says
// which connection sent it (a reply for a connection that has since gone is dropped, as
// ZooKeeper drops a reply for a closed ServerCnxn), when (latency stats), which op (lop, close
// after closeSession), and for the requests the worker completes itself the decoded argument.
//
// Most sessions have zero to two requests in flight and a worker holds tens of thousands of
// sessions, so the storage is one plain array of numbers (4 per entry), created on first use
// and reused: no object per request, no ArrayBuffer per session.

import { assert } from '../common/assert.js';
import { fifoCompactEntriesMin } from './limits.js';

/** removeWatches / checkWatches argument, kept until the worker completes the request. */
export interface WatchOpArg {
  path: string;
  type: number;
}

const stride = 4; // xid, op, connId, startMs

export class RequestFifo {
  #q: number[] | null = null;
  /** Arguments by entry index (only removeWatches / checkWatches have one). */
  #args: (WatchOpArg | null)[] | null = null;
  #head = 0; // entry index
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(xid: number, op: number, connId: number, startMs: number, arg: WatchOpArg | null): void {
    let q = this.#q;
    if (q === null) {
      q = [];
      this.#q = q;
    }
    const i = this.#head + this.#size;
    q[i * stride] = xid;
    q[i * stride + 1] = op;
    q[i * stride + 2] = connId;
    q[i * stride + 3] = startMs;
    if (arg !== null || this.#args !== null) {
      if (this.#args === null) this.#args = [];
      this.#args[i] = arg;
    }
    this.#size++;
  }

  // The head entry's fields (call only when size > 0).
  get headXid(): number {
    return this.#q![this.#head * stride]!;
  }
  get headOp(): number {
    return this.#q![this.#head * stride + 1]!;
  }
  get headConnId(): number {
    return this.#q![this.#head * stride + 2]!;
  }
  get headStartMs(): number {
    return this.#q![this.#head * stride + 3]!;
  }
  get headArg(): WatchOpArg | null {
    return this.#args?.[this.#head] ?? null;
  }

  shift(): void {
    assert(this.#size > 0, 'RequestFifo.shift on an empty fifo');
    if (this.#args !== null) this.#args[this.#head] = null;
    this.#head++;
    if (--this.#size === 0) this.clear();
    else if (this.#head >= fifoCompactEntriesMin && this.#head >= this.#size) this.#compact();
  }

  /** A session that always has something in flight never empties: move the live entries to
   *  the front now and then, so the array stays bounded by the entries in flight. */
  #compact(): void {
    const q = this.#q!;
    const from = this.#head;
    q.copyWithin(0, from * stride, (from + this.#size) * stride);
    q.length = this.#size * stride;
    const args = this.#args;
    if (args !== null) {
      args.copyWithin(0, from, from + this.#size);
      args.length = this.#size;
    }
    this.#head = 0;
  }

  /** Requests from connection `connId` still in flight. */
  countFor(connId: number): number {
    const q = this.#q;
    if (q === null) return 0;
    let n = 0;
    for (let i = this.#head; i < this.#head + this.#size; i++) if (q[i * stride + 2] === connId) n++;
    return n;
  }

  /** Forget every entry (keeps the storage for reuse). */
  clear(): void {
    if (this.#q !== null) this.#q.length = 0;
    this.#args = null;
    this.#head = 0;
    this.#size = 0;
  }
}
