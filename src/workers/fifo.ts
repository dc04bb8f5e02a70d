// One session's requests in flight at the main thread, oldest first. The main thread answers a
// session's requests in order (records.ts), so a reply always matches the head; the entry says
// which connection sent it (a reply for a connection that has since gone is dropped, as
// ZooKeeper drops a reply for a closed ServerCnxn), when (latency stats), which op (lop, close
// after closeSession), and for the requests the worker completes itself the decoded argument.
//
// A ring of parallel typed arrays: no object per request.

import { assert } from '../common/assert.js';

/** removeWatches / checkWatches argument, kept until the worker completes the request. */
export interface WatchOpArg {
  path: string;
  type: number;
}

export class RequestFifo {
  #xid: Int32Array;
  #op: Int32Array;
  #connId: Uint32Array;
  #startMs: Float64Array;
  #arg: (WatchOpArg | null)[];
  #head = 0;
  #size = 0;

  constructor(capacity = 8) {
    assert((capacity & (capacity - 1)) === 0 && capacity > 0, 'RequestFifo: capacity must be a power of two');
    this.#xid = new Int32Array(capacity);
    this.#op = new Int32Array(capacity);
    this.#connId = new Uint32Array(capacity);
    this.#startMs = new Float64Array(capacity);
    this.#arg = new Array<WatchOpArg | null>(capacity).fill(null);
  }

  get size(): number {
    return this.#size;
  }

  push(xid: number, op: number, connId: number, startMs: number, arg: WatchOpArg | null): void {
    if (this.#size === this.#xid.length) this.#grow();
    const i = (this.#head + this.#size) & (this.#xid.length - 1);
    this.#xid[i] = xid;
    this.#op[i] = op;
    this.#connId[i] = connId;
    this.#startMs[i] = startMs;
    this.#arg[i] = arg;
    this.#size++;
  }

  // The head entry's fields (call only when size > 0).
  get headXid(): number {
    return this.#xid[this.#head]!;
  }
  get headOp(): number {
    return this.#op[this.#head]!;
  }
  get headConnId(): number {
    return this.#connId[this.#head]!;
  }
  get headStartMs(): number {
    return this.#startMs[this.#head]!;
  }
  get headArg(): WatchOpArg | null {
    return this.#arg[this.#head]!;
  }

  shift(): void {
    assert(this.#size > 0, 'RequestFifo.shift on an empty fifo');
    this.#arg[this.#head] = null;
    this.#head = (this.#head + 1) & (this.#xid.length - 1);
    this.#size--;
  }

  /** Requests from connection `connId` still in flight. */
  countFor(connId: number): number {
    const mask = this.#xid.length - 1;
    let n = 0;
    for (let k = 0; k < this.#size; k++) if (this.#connId[(this.#head + k) & mask] === connId) n++;
    return n;
  }

  clear(): void {
    this.#arg.fill(null);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const cap = this.#xid.length;
    const next = cap * 2;
    const xid = new Int32Array(next);
    const op = new Int32Array(next);
    const connId = new Uint32Array(next);
    const startMs = new Float64Array(next);
    const arg = new Array<WatchOpArg | null>(next).fill(null);
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) & (cap - 1);
      xid[k] = this.#xid[i]!;
      op[k] = this.#op[i]!;
      connId[k] = this.#connId[i]!;
      startMs[k] = this.#startMs[i]!;
      arg[k] = this.#arg[i]!;
    }
    this.#xid = xid;
    this.#op = op;
    this.#connId = connId;
    this.#startMs = startMs;
    this.#arg = arg;
    this.#head = 0;
  }
}
