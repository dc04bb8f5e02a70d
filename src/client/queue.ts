// The request queue: one Request from submit to reply, xids, the requests sent and not answered
// (replies come back in that order), the ones encoded while not connected (sent at the next
// handshake), the auth packets in flight, and failing them all when the connection or session goes.

import { Err, WatchKind } from '../common/zk.js';
import { Deque } from './deque.js';
import { ZkError } from './errors.js';
import { authInFlightInitial, xidMax } from './limits.js';
import type { Watcher } from './watches.js';

/** One request from submit to reply. Fields set in the constructor only: one shape. */
export class Request {
  xid = 0;
  readonly op: number;
  /** The client path (for errors, watch registration, removal). */
  readonly path: string;
  watcher: Watcher | null = null;
  /** WatchKind the reply registers `watcher` in (read only when there is a watcher). */
  watchKind: number = WatchKind.data;
  /** Per-op extra: create → wants the Stat (boolean); check/removeWatches → RemoveArg;
   *  multi → its Op[] (to name the failed op's path); multiRead → 'read'. */
  arg: unknown = null;
  /** The encoded frame while it waits for a connection. */
  frame: Buffer | null = null;
  resolve: (v: unknown) => void = noop;
  reject: (e: unknown) => void = noop;

  constructor(op: number, path: string) {
    this.op = op;
    this.path = path;
  }
}

/** Request.arg of checkWatches / removeWatches. */
export interface RemoveArg {
  type: number;
  watcher: Watcher | null;
  local: boolean;
  /** false: checkWatches(), which only asks the server */
  remove: boolean;
}

function noop(): void {}

// new Promise(executor) runs the executor synchronously: one shared executor that stores the
// resolvers on the request being created saves a closure per request.
let capturing: Request | null = null;
function capture(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  const r = capturing as Request;
  r.resolve = resolve;
  r.reject = reject;
}
export function promiseOf<T>(r: Request): Promise<T> {
  capturing = r;
  const p = new Promise<unknown>(capture);
  capturing = null;
  return p as Promise<T>;
}

export class RequestQueue {
  private xid = 0;
  /** Sent, in order, not answered yet. */
  private readonly pending = new Deque<Request>();
  /** Encoded while not connected, in order; sent after the next handshake. */
  private backlog: Request[] = [];
  /** Auth packets sent and not answered yet (null: one re-sent at a reconnect); made on first use. */
  private authWaiters: Deque<Request | null> | null = null;

  /** Requests sent or waiting to be sent and not answered yet. */
  get length(): number {
    return this.pending.length + this.backlog.length;
  }

  nextXid(): number {
    this.xid = this.xid >= xidMax ? 1 : this.xid + 1;
    return this.xid;
  }

  /** r went out (or goes out with this turn's flush); its reply comes after the ones before. */
  sent(r: Request): void {
    this.pending.push(r);
  }

  /** r waits for a connection with its encoded frame. */
  park(r: Request, frame: Buffer): void {
    r.frame = frame;
    this.backlog.push(r);
  }

  /** Moves the parked requests to the sent queue, their frames appended to `into` in order;
   *  returns how many there were. */
  unpark(into: Buffer[]): number {
    const backlog = this.backlog;
    if (backlog.length === 0) return 0;
    this.backlog = [];
    for (const r of backlog) {
      into.push(r.frame as Buffer);
      r.frame = null;
      this.pending.push(r);
    }
    return backlog.length;
  }

  /** An auth packet went out; `waiter` (null: a re-sent one) gets its reply. */
  sentAuth(waiter: Request | null): void {
    if (this.authWaiters === null) this.authWaiters = new Deque(authInFlightInitial);
    this.authWaiters.push(waiter);
  }

  /** The waiter of the oldest auth packet in flight (null: none, or a re-sent one). */
  authReplied(): Request | null {
    return this.authWaiters?.shift() ?? null;
  }

  /** The request a reply of `xid` answers: the head of the sent queue. A reply with nothing
   *  pending, or out of order, throws (the caller drops the connection); the out-of-order
   *  request fails with connectionLoss first. */
  replyTo(xid: number): Request {
    const req = this.pending.shift();
    if (req === undefined) throw new Error(`reply xid ${xid} with nothing pending`);
    if (req.xid !== xid) {
      req.reject(new ZkError(Err.connectionLoss, req.path === '' ? undefined : req.path, { message: `connectionLoss (-4): xid out of order: got ${xid}, expected ${req.xid}` }));
      throw new Error(`xid out of order: got ${xid}, expected ${req.xid}`);
    }
    return req;
  }

  /** Fails everything sent or waiting to be sent (not the auth not yet sent). */
  failAll(err: ZkError): void {
    for (let r = this.pending.shift(); r !== undefined; r = this.pending.shift()) r.reject(err);
    const backlog = this.backlog;
    this.backlog = [];
    for (const r of backlog) r.reject(err);
    const aw = this.authWaiters;
    if (aw !== null) for (let a = aw.shift(); a !== undefined; a = aw.shift()) a?.reject(err);
  }
}
