// ZooKeeper's ExpiryQueue (org.apache.zookeeper.server.ExpiryQueue) over dense integer ids:
// each id sits in the bucket of its expiry time rounded UP to the next multiple of intervalMs,
// so a touch that lands in the same bucket costs one comparison, a touch that moves costs two
// list splices, and expiring costs one Map lookup per interval plus one step per expired id —
// never a timer per session. The caller drives it from one tick (see poll).
//
// Buckets are intrusive doubly linked lists in typed arrays (no object per id, no Set per
// bucket), keyed in a Map by bucket time. Times are monotonic milliseconds (performance.now()).

import { assert } from './assert.js';

const none = -1;

export class ExpiryQueue {
  readonly intervalMs: number;
  /** Bucket time of each id, 0 when the id is not queued. */
  #expiry: Float64Array;
  #next: Int32Array;
  #prev: Int32Array;
  /** bucket time → first id of its list. */
  readonly #heads = new Map<number, number>();
  #nextExpirationMs: number;
  #size = 0;

  constructor(intervalMs: number, nowMs: number, capacity = 1024) {
    assert(intervalMs > 0, 'ExpiryQueue: intervalMs must be > 0');
    this.intervalMs = intervalMs;
    this.#expiry = new Float64Array(capacity);
    this.#next = new Int32Array(capacity).fill(none);
    this.#prev = new Int32Array(capacity).fill(none);
    this.#nextExpirationMs = this.roundToNextInterval(nowMs);
  }

  /** Ids queued now. */
  get size(): number {
    return this.#size;
  }

  /** When the next bucket falls due (ms, same clock as the callers'). */
  get nextExpirationMs(): number {
    return this.#nextExpirationMs;
  }

  roundToNextInterval(timeMs: number): number {
    return (Math.floor(timeMs / this.intervalMs) + 1) * this.intervalMs;
  }

  /** Bucket time of `id`, or 0 when it is not queued. */
  expiryOf(id: number): number {
    return id < this.#expiry.length ? this.#expiry[id]! : 0;
  }

  /**
   * Queue `id` to expire `timeoutMs` after `nowMs` (ExpiryQueue.update). Returns its bucket
   * time. A touch that lands in the bucket it is already in does nothing.
   */
  update(id: number, nowMs: number, timeoutMs: number): number {
    if (id >= this.#expiry.length) this.#grow(id + 1);
    const t = this.roundToNextInterval(nowMs + timeoutMs);
    const old = this.#expiry[id]!;
    if (old === t) return t;
    if (old !== 0) this.#unlink(id, old);
    else this.#size++;
    this.#expiry[id] = t;
    const head = this.#heads.get(t);
    this.#next[id] = head ?? none;
    this.#prev[id] = none;
    if (head !== undefined) this.#prev[head] = id;
    this.#heads.set(t, id);
    return t;
  }

  /** Take `id` out of its bucket (no-op when not queued). */
  remove(id: number): void {
    if (id >= this.#expiry.length) return;
    const t = this.#expiry[id]!;
    if (t === 0) return;
    this.#unlink(id, t);
    this.#expiry[id] = 0;
    this.#size--;
  }

  /**
   * Expire every bucket due at `nowMs`: each of its ids is removed from the queue and then
   * handed to `expire` (which may touch, remove or re-queue any id, this one included). Returns
   * the number expired. Unlike ExpiryQueue.poll this catches up on several buckets at once, so
   * a late tick loses nothing.
   */
  poll(nowMs: number, expire: (id: number) => void): number {
    let n = 0;
    let t = this.#nextExpirationMs;
    while (t <= nowMs) {
      for (let id = this.#heads.get(t); id !== undefined; id = this.#heads.get(t)) {
        this.remove(id);
        n++;
        expire(id);
      }
      t += this.intervalMs;
      this.#nextExpirationMs = t;
    }
    return n;
  }

  #unlink(id: number, t: number): void {
    const next = this.#next[id]!;
    const prev = this.#prev[id]!;
    if (prev !== none) this.#next[prev] = next;
    else if (next !== none) this.#heads.set(t, next);
    else this.#heads.delete(t);
    if (next !== none) this.#prev[next] = prev;
    this.#next[id] = none;
    this.#prev[id] = none;
  }

  #grow(min: number): void {
    let cap = this.#expiry.length * 2;
    while (cap < min) cap *= 2;
    const expiry = new Float64Array(cap);
    expiry.set(this.#expiry);
    const next = new Int32Array(cap).fill(none);
    next.set(this.#next);
    const prev = new Int32Array(cap).fill(none);
    prev.set(this.#prev);
    this.#expiry = expiry;
    this.#next = next;
    this.#prev = prev;
  }
}
