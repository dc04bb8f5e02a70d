// Wake-ups between the two threads of a ByteRing, without ever blocking a thread.
//
// Consumer side: `await bell.wait()` resolves when the ring has a published record, when the
// ring is closed, when the bell is closed, or after the timeout fallback (spuriously; re-check).
// Producer side: `await bell.waitForSpace(n)` resolves when a record of n payload bytes fits,
// under the same conditions. The other thread wakes a sleeper from ByteRing.publish() /
// ByteRing.releaseBatch() (or `ring(r)` / `notifySpace(r)` below), and only when the sleeper
// has raised its flag, so a busy pair of threads pays no Atomics.notify at all.
//
// Waiting uses Atomics.waitAsync (never Atomics.wait: the threads own sockets and timers). A
// pending Atomics.waitAsync does not keep a Node thread alive, so while a wait is pending the
// bell refs a keep-alive interval; it is unref'ed when idle and cleared by close(). The
// protocol that makes the flag + sequence pair free of lost wake-ups is argued in ring.ts.

import { Slot } from './layout.js';
import { doorbellKeepAliveIntervalMs, doorbellTimeoutMs } from './limits.js';
import type { ByteRing } from './ring.js';


const resolved: Promise<void> = Promise.resolve();
function noop(): void {}

export interface DoorbellOptions {
  /** Fallback timeout of each wait in milliseconds (default doorbellTimeoutMs). */
  timeoutMs?: number;
}

/** Producer side: wake the consumer of `r` if it sleeps. ByteRing.publish() already does this. */
export function ring(r: ByteRing): boolean {
  return r.ringDoorbell();
}

/** Consumer side: wake the producer of `r` if it waits for space. releaseBatch() already does. */
export function notifySpace(r: ByteRing): boolean {
  return r.notifySpace();
}

/**
 * The waiting side of one ring, in one thread. A consumer uses wait(); a producer uses
 * waitForSpace(). At most one wait of each kind may be pending at a time (the ring is SPSC).
 */
export class Doorbell {
  readonly ring: ByteRing;
  readonly timeoutMs: number;
  #keepAlive: NodeJS.Timeout | undefined;
  #pending = 0; // waits in flight (keep-alive is ref'ed while > 0)
  #closed = false;
  #resolveData: (() => void) | undefined;
  #resolveSpace: (() => void) | undefined;
  readonly #onData: (outcome: 'ok' | 'not-equal' | 'timed-out') => void;
  readonly #onSpace: () => void;

  constructor(r: ByteRing, options: DoorbellOptions = {}) {
    this.ring = r;
    this.timeoutMs = options.timeoutMs ?? doorbellTimeoutMs;
    if (!(this.timeoutMs > 0)) throw new RangeError(`Doorbell: timeoutMs must be > 0, got ${this.timeoutMs}`);
    this.#onData = (outcome: 'ok' | 'not-equal' | 'timed-out') => {
      const ctl = this.ring.ctl;
      Atomics.store(ctl, Slot.consumerSleeping, 0);
      if (outcome === 'timed-out' && this.ring.readable()) ctl[Slot.lateWakeups] = (ctl[Slot.lateWakeups]! + 1) | 0;
      const resolve = this.#resolveData;
      if (resolve === undefined) return; // already settled by close()
      this.#resolveData = undefined;
      this.#unhold();
      resolve();
    };
    this.#onSpace = () => {
      Atomics.store(this.ring.ctl, Slot.producerWaiting, 0);
      const resolve = this.#resolveSpace;
      if (resolve === undefined) return;
      this.#resolveSpace = undefined;
      this.#unhold();
      resolve();
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Consumer side: resolve when the ring may hold a record (it does unless the wake-up was the
   * timeout fallback or a close). Resolves at once when a record is already there.
   */
  wait(): Promise<void> {
    if (this.#resolveData !== undefined) throw new Error('Doorbell.wait: a wait is already pending');
    const r = this.ring;
    const ctl = r.ctl;
    if (this.#closed || r.readable() || Atomics.load(ctl, Slot.closed) !== 0) return resolved;
    const seq = Atomics.load(ctl, Slot.dataSeq);
    Atomics.store(ctl, Slot.consumerSleeping, 1);
    // Re-check after raising the flag: a publish() that missed the flag is visible now.
    if (r.readable() || Atomics.load(ctl, Slot.closed) !== 0) {
      Atomics.store(ctl, Slot.consumerSleeping, 0);
      return resolved;
    }
    const w = Atomics.waitAsync(ctl, Slot.dataSeq, seq, this.timeoutMs);
    if (!w.async) {
      Atomics.store(ctl, Slot.consumerSleeping, 0);
      return resolved;
    }
    return new Promise<void>((resolve) => {
      this.#resolveData = resolve;
      this.#hold();
      w.value.then(this.#onData, () => this.#onData('ok'));
    });
  }

  /**
   * Producer side: resolve when a record of `payloadBytes` fits in the ring (or on timeout
   * fallback / close: re-check with reserve()). Resolves at once when it fits already.
   */
  waitForSpace(payloadBytes: number): Promise<void> {
    if (this.#resolveSpace !== undefined) throw new Error('Doorbell.waitForSpace: a wait is already pending');
    const r = this.ring;
    const ctl = r.ctl;
    if (this.#closed || r.canReserve(payloadBytes) || Atomics.load(ctl, Slot.closed) !== 0) return resolved;
    const seq = Atomics.load(ctl, Slot.spaceSeq);
    Atomics.store(ctl, Slot.producerWaiting, 1);
    if (r.canReserve(payloadBytes) || Atomics.load(ctl, Slot.closed) !== 0) {
      Atomics.store(ctl, Slot.producerWaiting, 0);
      return resolved;
    }
    const w = Atomics.waitAsync(ctl, Slot.spaceSeq, seq, this.timeoutMs);
    if (!w.async) {
      Atomics.store(ctl, Slot.producerWaiting, 0);
      return resolved;
    }
    return new Promise<void>((resolve) => {
      this.#resolveSpace = resolve;
      this.#hold();
      w.value.then(this.#onSpace, this.#onSpace);
    });
  }

  /**
   * Stop waiting: pending waits resolve now, later waits resolve at once, and the keep-alive
   * handle is released so the thread can exit. Does not close the ring itself (ByteRing.close).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const d = this.#resolveData;
    const s = this.#resolveSpace;
    this.#resolveData = undefined;
    this.#resolveSpace = undefined;
    this.#pending = 0;
    if (this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
    d?.();
    s?.();
  }

  #hold(): void {
    if (this.#pending++ === 0) {
      if (this.#keepAlive === undefined) this.#keepAlive = setInterval(noop, doorbellKeepAliveIntervalMs);
      else this.#keepAlive.ref();
    }
  }

  #unhold(): void {
    if (--this.#pending === 0 && this.#keepAlive !== undefined) this.#keepAlive.unref();
  }
}
