// The output a worker's non-reading clients hold: each connection whose queued replies passed
// connOutputPauseBytes is counted here with what it holds, so that together they stay under
// workerStalledOutputBytesMax (connections/output.ts closes the one holding the most past it).
// One owner: the worker's flush step.

/** A connection as this count sees it. */
export interface StalledConn {
  /** Bytes of this connection counted here (0: not stalled). */
  stalledBytes: number;
}

export class StalledOutput<C extends StalledConn> {
  readonly #conns = new Set<C>();
  #bytes = 0;

  /** Output bytes all stalled connections hold. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Count `bytes` of `conn`'s queued output as stalled (0: not stalled any more). */
  set(conn: C, bytes: number): void {
    this.#bytes += bytes - conn.stalledBytes;
    conn.stalledBytes = bytes;
    if (bytes > 0) this.#conns.add(conn);
    else this.#conns.delete(conn);
  }

  /** The stalled connection holding the most, or null. Linear: only run past the bound. */
  worst(): C | null {
    let worst: C | null = null;
    for (const c of this.#conns) if (worst === null || c.stalledBytes > worst.stalledBytes) worst = c;
    return worst;
  }
}
