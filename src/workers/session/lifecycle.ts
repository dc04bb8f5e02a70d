// The sessions a worker holds, from the attach that adds one to its end: the table, the local
// sessions' expirer (LocalSessionTracker), the touch batches that keep global sessions alive at
// the main thread (the learner's session tracking), and every way a session leaves this worker.

import { ExpiryQueue } from '../../common/expiry-queue.js';
import { DetachReason, SessionEndReason, type SessionEndView } from '../../shm/records.js';
import type { Bridge } from '../bridge.js';
import type { ClientConn, WorkerSession } from '../connections/client-conn.js';
import type { Output } from '../connections/output.js';
import { sessionsPerWorkerMax } from '../limits.js';
import type { WorkerLog } from '../log.js';
import type { RequestsInFlight } from '../requests/in-flight.js';
import type { WatchTable } from '../watches/table.js';
import { SessionTable } from './table.js';

const sessionEndNames: Record<number, string> = {
  [SessionEndReason.expired]: 'expired',
  [SessionEndReason.moved]: 'moved',
  [SessionEndReason.closed]: 'closed',
};

export interface WorkerSessionsOptions {
  bridge: Pick<Bridge, 'sendDetach' | 'sendTouch' | 'touchBatchMax'>;
  log: WorkerLog;
  /** Watches and requests in flight a session leaves behind when it goes. */
  watches: WatchTable;
  inFlight: RequestsInFlight;
  output: Output;
  tickTimeMs: number;
  nowMs: number;
}

export class WorkerSessions {
  readonly table = new SessionTable<ClientConn>(sessionsPerWorkerMax);
  readonly #bridge: WorkerSessionsOptions['bridge'];
  readonly #log: WorkerLog;
  readonly #watches: WatchTable;
  readonly #inFlight: RequestsInFlight;
  readonly #output: Output;
  /** Local sessions, by session slot. */
  readonly #expiry: ExpiryQueue;
  readonly #expire = (slot: number): void => this.#expireLocal(slot);
  #touched = new Int32Array(1024);
  #touchedCount = 0;
  #touchIds = new Uint32Array(2048);

  constructor(options: WorkerSessionsOptions) {
    this.#bridge = options.bridge;
    this.#log = options.log;
    this.#watches = options.watches;
    this.#inFlight = options.inFlight;
    this.#output = options.output;
    this.#expiry = new ExpiryQueue(options.tickTimeMs, options.nowMs);
  }

  // ============================================================================ liveness

  /** A request of `s` arrived: a local session's expiry moves, a global one is touched. */
  heard(s: WorkerSession, now: number): void {
    if (s.local) this.#expiry.update(s.slot, now, s.timeoutMs);
    else if (!s.touched) this.#markTouched(s);
  }

  /** `s` was (re-)established: a local one expires `s.timeoutMs` from now. */
  established(s: WorkerSession, now: number): void {
    if (s.local) this.#expiry.update(s.slot, now, s.timeoutMs);
  }

  /** `s` is global now: the main thread expires it. */
  stopExpiring(s: WorkerSession): void {
    this.#expiry.remove(s.slot);
  }

  /** Expire the local sessions past their timeout. */
  poll(now: number): void {
    this.#expiry.poll(now, this.#expire);
  }

  #markTouched(s: WorkerSession): void {
    s.touched = true;
    if (this.#touchedCount === this.#touched.length) {
      const grown = new Int32Array(this.#touched.length * 2);
      grown.set(this.#touched);
      this.#touched = grown;
    }
    this.#touched[this.#touchedCount++] = s.slot;
  }

  /** One touch record (a few, if huge) for the global sessions heard from since the last. */
  flushTouches(): void {
    const count = this.#touchedCount;
    if (count === 0) return;
    this.#touchedCount = 0;
    const batchMax = this.#bridge.touchBatchMax;
    const need = 2 * Math.min(count, batchMax);
    if (this.#touchIds.length < need) this.#touchIds = new Uint32Array(need);
    const ids = this.#touchIds;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const s = this.table.at(this.#touched[i]!);
      if (s === undefined || !s.touched) continue; // gone, or a slot listed twice
      s.touched = false;
      if (s.local) continue;
      ids[2 * n] = s.sidHi;
      ids[2 * n + 1] = s.sidLo;
      if (++n === batchMax) {
        this.#bridge.sendTouch(ids, n);
        n = 0;
      }
    }
    if (n > 0) this.#bridge.sendTouch(ids, n);
  }

  // ============================================================================ connections

  /** `conn` takes `s` over from the connection it had (closed, without a detach). */
  takeOver(s: WorkerSession, conn: ClientConn): void {
    const old = s.conn;
    if (old !== null && old !== conn) {
      old.session = null;
      old.close();
    }
    s.conn = null;
    // Watches and auth ids belong to a connection (ZooKeeper: the ServerCnxn is the Watcher and
    // holds authInfo); the client sends setWatches and its auth packets again on reconnect.
    this.#watches.dropSession(s.slot);
    s.clearAuth();
  }

  /** The connection of `s` closed. */
  detached(s: WorkerSession, conn: ClientConn): void {
    s.conn = null;
    conn.session = null;
    this.#watches.dropSession(s.slot);
    s.clearAuth();
    this.#bridge.sendDetach(s.sidHi, s.sidLo, conn.id, DetachReason.connectionClosed);
    // Built only when logged (warn by default): a herd's drops would make two strings each.
    if (this.#log.isLevelEnabled('info')) {
      this.#log.info(
        { sid: s.hex, remote: conn.remote, local: s.local },
        `Closed socket connection for client /${conn.remote} which had sessionid ${s.hex}`,
      );
    }
    // A global session lives on at the main thread; here it is kept only until the replies
    // still due to it have arrived. A local one stays until it expires.
    if (!s.local && s.fifo.size === 0 && !s.closing) this.remove(s);
  }

  // ============================================================================ session ends

  /** closeSession answered: the reply is queued; close after it (ServerCnxn.sendCloseSession). */
  closedByClient(s: WorkerSession): void {
    const conn = s.conn;
    if (this.#log.isLevelEnabled('info')) {
      this.#log.info({ sid: s.hex, local: s.local }, `Session ${s.hex} closed by the client`);
    }
    if (conn !== null) {
      conn.session = null;
      s.conn = null;
      this.#output.closeAfterFlush(conn);
    }
    if (s.local) {
      this.#bridge.sendDetach(s.sidHi, s.sidLo, conn?.id ?? 0, DetachReason.localSessionClosed);
    }
    this.remove(s);
  }

  /** A `sessionEnd` record: the main thread expired, moved or closed the session. */
  ended(v: SessionEndView): void {
    const s = this.table.get(v.sidHi, v.sidLo);
    if (s === undefined) return;
    if (v.reason === SessionEndReason.closed && s.closing) return; // the closeSession reply ends it
    if (this.#log.isLevelEnabled('info')) {
      const reason = sessionEndNames[v.reason] ?? `ended (${v.reason})`;
      this.#log.info({ sid: s.hex, reason }, `Session ${s.hex} ${reason}`);
    }
    const conn = s.conn;
    if (conn !== null) {
      conn.session = null;
      s.conn = null;
      conn.close();
    }
    this.remove(s);
  }

  /** An `upgraded` record: the local session is global now. */
  upgraded(sidHi: number, sidLo: number): void {
    const s = this.table.get(sidHi, sidLo);
    if (s === undefined || !s.local) return;
    this.table.setLocal(s, false);
    this.#expiry.remove(s.slot);
    this.#markTouched(s);
    this.#log.info({ sid: s.hex }, `Upgraded session ${s.hex} to a global session`);
  }

  /** LocalSessionTracker's expirer. */
  #expireLocal(slot: number): void {
    const s = this.table.at(slot);
    if (s === undefined || !s.local) return;
    if (this.#log.isLevelEnabled('info')) {
      const msg = `Expiring session ${s.hex}, timeout of ${s.timeoutMs}ms exceeded`;
      this.#log.info({ sid: s.hex }, msg);
    }
    const conn = s.conn;
    if (conn !== null) {
      conn.session = null;
      s.conn = null;
      conn.close();
    }
    this.#bridge.sendDetach(s.sidHi, s.sidLo, conn?.id ?? 0, DetachReason.localSessionExpired);
    this.remove(s);
  }

  remove(s: WorkerSession): void {
    this.#watches.dropSession(s.slot);
    this.#expiry.remove(s.slot);
    this.#inFlight.retire(s.fifo.size);
    s.fifo.clear();
    s.touched = false;
    this.table.remove(s);
  }
}
