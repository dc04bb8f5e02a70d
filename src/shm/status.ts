// A few values the main thread publishes for every worker to read without a message: the last
// applied zxid (a client whose lastZxidSeen is ahead of it must not get a session here) and the
// server's state. BigInt64Array because Atomics works on it and a zxid needs 64 bits.

export const StatusSlot = {
  lastZxid: 0,
  /** 0 = not serving yet, 1 = serving (standalone/leader/follower/observer with a leader). */
  serving: 1,
  slots: 8,
} as const;

export class SharedStatus {
  readonly cells: BigInt64Array;
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(StatusSlot.slots * 8)) {
    this.cells = new BigInt64Array(buffer);
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
