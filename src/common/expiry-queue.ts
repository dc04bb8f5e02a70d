// ZooKeeper's ExpiryQueue (org.apache.zookeeper.server.ExpiryQueue) over dense integer ids: each
// id expires in the bucket of its expiry time rounded UP to the next multiple of intervalMs, and
// expiring costs one Map lookup per interval plus one step per id in the bucket that falls due —
// never a timer per session. The caller drives it from one tick (see poll).
//
// Touches are lazy. An id is listed in one bucket, its home, which is never later than its
// expiry; a touch that moves the expiry later (every ping does) only writes the id's expiry time:
// no list is touched, so a ping costs one array store. When the home bucket falls due, an id whose
// expiry has moved on is listed again in the bucket of its expiry; so a session that pings every
// interval is listed again once per timeout, not once per ping. A touch that moves the expiry
// earlier (a shorter timeout) lists the id in the earlier bucket at once; the entry left in the
// old bucket is stale (its home is no longer that bucket) and is skipped when that bucket falls
// due, as are the entries of removed ids.
//
// Buckets are arrays of ids (recycled, no object per id), keyed in a Map by bucket time. Times
// are monotonic milliseconds (performance.now()).

import { assert } from './assert.js';

export class ExpiryQueue {
  readonly intervalMs: number;
  /** Bucket time of each id's expiry, 0 when the id is not queued. */
  #expiry: Float64Array;
  /** Bucket time of the list each id is in (<= its expiry), 0 when the id is not queued. */
  #home: Float64Array;
  /** bucket time → the ids listed there (newest last; stale entries skipped at poll). */
  readonly #lists = new Map<number, number[]>();
  /** Emptied lists kept for reuse. */
  readonly #spare: number[][] = [];
  #nextExpirationMs: number;
  #size = 0;

  constructor(intervalMs: number, nowMs: number, capacity = 1024) {
    assert(intervalMs > 0, 'ExpiryQueue: intervalMs must be > 0');
    this.intervalMs = intervalMs;
    this.#expiry = new Float64Array(capacity);
    this.#home = new Float64Array(capacity);
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
   * time. A touch that moves it later only records the new time (see the top of this file).
   */
  update(id: number, nowMs: number, timeoutMs: number): number {
    if (id >= this.#expiry.length) this.#grow(id + 1);
    const t = this.roundToNextInterval(nowMs + timeoutMs);
    const old = this.#expiry[id]!;
    if (old === t) return t;
    this.#expiry[id] = t;
    if (old === 0) this.#size++;
    // Listed already in a bucket no later than t: it is moved when that bucket falls due.
    if (old !== 0 && this.#home[id]! <= t) return t;
    this.#home[id] = t;
    this.#list(t).push(id);
    return t;
  }

  /** Take `id` out of the queue (no-op when not queued); its list entry goes stale. */
  remove(id: number): void {
    if (id < 0 || id >= this.#expiry.length) return;
    if (this.#expiry[id] === 0) return;
    this.#expiry[id] = 0;
    this.#home[id] = 0;
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
      const list = this.#lists.get(t);
      if (list !== undefined) {
        // Newest first. `expire` never lists anything in this bucket: a new expiry is later
        // than nowMs, which is at or after t.
        for (let id = list.pop(); id !== undefined; id = list.pop()) {
          // (The arrays are read through `this`: `expire` may grow them.)
          if (this.#home[id] !== t) continue; // stale: removed, or listed again elsewhere
          const e = this.#expiry[id]!;
          if (e !== t) {
            // Touched since it was listed here: list it in the bucket of its expiry.
            this.#home[id] = e;
            this.#list(e).push(id);
            continue;
          }
          this.remove(id);
          n++;
          expire(id);
        }
        this.#lists.delete(t);
        this.#spare.push(list);
      }
      t += this.intervalMs;
      this.#nextExpirationMs = t;
    }
    return n;
  }

  #list(t: number): number[] {
    let list = this.#lists.get(t);
    if (list === undefined) {
      list = this.#spare.pop() ?? [];
      this.#lists.set(t, list);
    }
    return list;
  }

  #grow(min: number): void {
    let cap = this.#expiry.length * 2;
    while (cap < min) cap *= 2;
    const expiry = new Float64Array(cap);
    expiry.set(this.#expiry);
    const home = new Float64Array(cap);
    home.set(this.#home);
    this.#expiry = expiry;
    this.#home = home;
  }
}
