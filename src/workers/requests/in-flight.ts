// Requests of this worker's sessions in flight at the main thread: the worker's own count, the
// server-wide total in shared memory, and the read throttle both drive (globalOutstandingLimit).

import { throttleLogIntervalMs } from '../limits.js';
import type { WorkerLog } from '../log.js';
import type { SharedStatus } from '../../shm/status.js';

export interface InFlightOptions {
  status: SharedStatus;
  log: WorkerLog;
  globalOutstandingLimit: number;
  now: () => number;
}

export class RequestsInFlight {
  readonly #status: SharedStatus;
  readonly #log: WorkerLog;
  readonly #limit: number;
  readonly #now: () => number;
  /** Requests of this worker's sessions in flight at the main thread. */
  #outstanding = 0;
  /** The last server-wide total seen was above globalOutstandingLimit (for the log lines). */
  #overLimit = false;
  #throttleLoggedMs = -Infinity;
  #throttleEpisodes = 0;

  constructor(options: InFlightOptions) {
    this.#status = options.status;
    this.#log = options.log;
    this.#limit = options.globalOutstandingLimit;
    this.#now = options.now;
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  /** One request went to the main thread; returns the server-wide total. */
  sent(): number {
    this.#outstanding++;
    return this.#status.addRequestsInFlight(1);
  }

  /** One request was answered; returns the server-wide total. */
  answered(): number {
    this.#outstanding--;
    return this.#status.addRequestsInFlight(-1);
  }

  /** `n` requests of this worker will never be answered to anyone (their session ended). */
  retire(n: number): void {
    if (n === 0) return;
    this.#outstanding -= n;
    this.#status.addRequestsInFlight(-n);
  }

  /**
   * Whether a connection whose session has `size` requests in flight stays unread: its own
   * bound (`sessionMax`), or ZooKeeper's global throttle (ServerCnxn.incrOutstandingAndCheck-
   * Throttle / ZooKeeperServer.shouldThrottle): while the requests in flight server-wide exceed
   * globalOutstandingLimit, every connection with one of its own in flight stops being read
   * until its last one is answered or the total drops. A connection with none in flight is
   * still read, so one flooder does not starve the sessions that wait for their answers.
   */
  throttled(size: number, inFlight: number, sessionMax: number): boolean {
    const limit = this.#limit;
    const over = inFlight > limit;
    if (over && !this.#overLimit) {
      // Entering the throttled state: at most one line per throttleLogIntervalMs (it may flap).
      this.#throttleEpisodes++;
      const now = this.#now();
      if (now - this.#throttleLoggedMs >= throttleLogIntervalMs) {
        const fields = { inFlight, globalOutstandingLimit: limit, episodes: this.#throttleEpisodes };
        this.#log.info(fields, 'requests in flight above globalOutstandingLimit: throttling reads');
        this.#throttleLoggedMs = now;
        this.#throttleEpisodes = 0;
      }
    }
    this.#overLimit = over;
    return size >= sessionMax || (over && size > 0);
  }
}
