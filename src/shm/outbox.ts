// The outbox of a channel's tx ring: records the full ring had no room for, kept in order and
// flushed into the ring as the consumer frees space (the tx Doorbell wakes it).

import type { Doorbell } from './doorbell.js';
import { outboxCompactRecordsMin } from './limits.js';
import type { ByteRing } from './ring.js';

const empty = new Uint8Array(0);

export class Outbox {
  readonly #tx: ByteRing;
  readonly #txBell: Doorbell;
  // Records that did not fit, in order, from #head.
  #data: Uint8Array[] = [];
  #kinds: number[] = [];
  /** A fragment's header, written in front of its piece (a view into the record's own buffer,
   *  so the outbox copies no piece); null for other records. */
  #prefix: (Uint8Array | null)[] = [];
  #head = 0;
  #bytes = 0;
  #flushScheduled = false;
  #writableWaiters: (() => void)[] = [];
  readonly #onSpace: () => void;
  #closed = false;

  constructor(tx: ByteRing, txBell: Doorbell) {
    this.#tx = tx;
    this.#txBell = txBell;
    this.#onSpace = () => {
      this.#flushScheduled = false;
      if (this.#closed) return;
      if (this.#tx.closed) {
        this.drop(); // the peer is gone: nobody will make room again
        return;
      }
      this.flush();
      this.#tx.publish();
      if (this.#head < this.#data.length) this.#scheduleFlush();
    };
  }

  /** True when no record waits (the ring takes the next record directly). */
  isEmpty(): boolean {
    return this.#head === this.#data.length;
  }

  /** Records waiting (0 unless tx was full). */
  get length(): number {
    return this.#data.length - this.#head;
  }

  /** Payload bytes waiting: a back-pressure signal for the sources. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Put a finished record behind the outbox (which must be non-empty, or the ring full). */
  queue(kind: number, prefix: Uint8Array | null, data: Uint8Array): void {
    this.#data.push(data);
    this.#kinds.push(kind);
    this.#prefix.push(prefix);
    this.#bytes += data.length + (prefix === null ? 0 : prefix.length);
    this.#tx.noteOverflow();
    this.#scheduleFlush();
  }

  /** Move outbox records into tx while they fit (committed, not published). True when empty. */
  flush(): boolean {
    const tx = this.#tx;
    const data = this.#data;
    const kinds = this.#kinds;
    const prefixes = this.#prefix;
    let i = this.#head;
    while (i < data.length) {
      const rec = data[i]!;
      const prefix = prefixes[i]!;
      const p = prefix === null ? 0 : prefix.length;
      const off = tx.reserve(kinds[i]!, p + rec.length);
      if (off < 0) break;
      if (prefix !== null) tx.bytes.set(prefix, off);
      tx.bytes.set(rec, off + p);
      tx.commit();
      this.#bytes -= p + rec.length;
      data[i] = empty; // the record's buffer may go before the whole outbox has
      i++;
    }
    if (i === data.length) {
      data.length = 0;
      kinds.length = 0;
      prefixes.length = 0;
      this.#head = 0;
      this.resolveWritable();
      return true;
    }
    if (i >= outboxCompactRecordsMin) {
      data.splice(0, i);
      kinds.splice(0, i);
      prefixes.splice(0, i);
      i = 0;
    }
    this.#head = i;
    return false;
  }

  /** Drop every waiting record (counted in the ring's droppedCount). */
  drop(): void {
    const left = this.#data.length - this.#head;
    if (left > 0) this.#tx.noteDropped(left);
    this.#data = [];
    this.#kinds = [];
    this.#prefix = [];
    this.#head = 0;
    this.#bytes = 0;
    this.resolveWritable();
  }

  /** Resolves when the outbox is empty (at once if it is), or when it closes (then its records
   * were dropped). */
  writable(): Promise<void> {
    if (this.#head === this.#data.length || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => this.#writableWaiters.push(resolve));
  }

  /** No more flushes are scheduled (the channel closed; drop() what is left first). */
  close(): void {
    this.#closed = true;
  }

  resolveWritable(): void {
    const waiters = this.#writableWaiters;
    if (waiters.length === 0) return;
    this.#writableWaiters = [];
    for (const w of waiters) w();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed) return;
    const first = this.#data[this.#head];
    if (first === undefined) return;
    const prefix = this.#prefix[this.#head];
    this.#flushScheduled = true;
    this.#txBell.waitForSpace(first.length + (prefix ? prefix.length : 0)).then(this.#onSpace, this.#onSpace);
  }
}
