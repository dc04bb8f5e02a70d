// A few values the main thread publishes for every worker to read without a message: the last
// applied zxid (a client whose lastZxidSeen is ahead of it must not get a session here) and the
// server's state. BigInt64Array because Atomics works on it and a zxid needs 64 bits.
//
// One value the workers keep together: the client requests in flight server-wide (forwarded to
// the main thread and not yet answered), ZooKeeper's requestsInProcess, which each worker
// compares with globalOutstandingLimit to throttle reads (src/workers/requests/in-flight.ts). An Int32 in
// the same memory, so a worker adds to it with one Atomics.add and no BigInt.

export const StatusSlot = {
  lastZxid: 0,
  /** 0 = not serving yet, 1 = serving (standalone/leader/follower/observer with a leader). */
  serving: 1,
  /** Int32 pair at this 64-bit slot: [0] requests in flight server-wide. */
  ints: 2,
  slots: 8,
} as const;

export class SharedStatus {
  readonly cells: BigInt64Array;
  readonly #ints: Int32Array;
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(StatusSlot.slots * 8)) {
    this.cells = new BigInt64Array(buffer);
    this.#ints = new Int32Array(buffer, StatusSlot.ints * 8, 2);
  }
  /** Requests in flight server-wide (all workers). */
  get requestsInFlight(): number {
    return Atomics.load(this.#ints, 0);
  }
  /** Add `n` (negative when answered) to the requests in flight; returns the new total. */
  addRequestsInFlight(n: number): number {
    return Atomics.add(this.#ints, 0, n) + n;
  }
  get lastZxid(): number {
    return Number(Atomics.load(this.cells, StatusSlot.lastZxid));
  }
  set lastZxid(zxid: number) {
    Atomics.store(this.cells, StatusSlot.lastZxid, BigInt(zxid));
  }
  get serving(): boolean {
    return Atomics.load(this.cells, StatusSlot.serving) === 1n;
  }
  set serving(on: boolean) {
    Atomics.store(this.cells, StatusSlot.serving, on ? 1n : 0n);
  }
}
