// Reply matching: a `reply` record from the main thread is matched to the head of its session's
// FIFO (a reply out of that order is a contract breach), written to the connection that asked
// if it is still the session's, or completed here (removeWatches, checkWatches, whoAmI).

import { Err, OpCode } from '../../common/zk.js';
import { JuteWriter } from '../../protocol/jute/index.js';
import { ReplyFlag, type ReplyView } from '../../shm/records.js';
import { ConnState, Pause } from '../conn.js';
import type { ClientConn, WorkerSession } from '../connections/client-conn.js';
import type { Output } from '../connections/output.js';
import type { WatchOpArg } from '../fifo.js';
import { sessionRequestsOutstandingMax } from '../limits.js';
import type { WorkerLog } from '../log.js';
import { encodeWhoAmI } from '../session/auth.js';
import type { WorkerSessions } from '../session/lifecycle.js';
import type { MetricsWriter } from '../../shm/metrics.js';
import { latencyHistogramOf, noteResponse, type Latency } from '../stats.js';
import { watcherTypeBits, type WatchTable } from '../watches/table.js';
import type { RequestsInFlight } from './in-flight.js';

export interface ReplyMatcherOptions {
  log: WorkerLog;
  sessions: WorkerSessions;
  watches: WatchTable;
  inFlight: RequestsInFlight;
  output: Output;
  /** Worker-wide latency (ServerStats). */
  latency: Latency;
  /** Read and update latencies for the exporter. */
  metrics: MetricsWriter;
  now: () => number;
}

export class ReplyMatcher {
  readonly #log: WorkerLog;
  readonly #sessions: WorkerSessions;
  readonly #watches: WatchTable;
  readonly #inFlight: RequestsInFlight;
  readonly #output: Output;
  readonly #latency: Latency;
  readonly #metrics: MetricsWriter;
  readonly #now: () => number;
  readonly #writer = new JuteWriter(256);

  constructor(options: ReplyMatcherOptions) {
    this.#log = options.log;
    this.#sessions = options.sessions;
    this.#watches = options.watches;
    this.#inFlight = options.inFlight;
    this.#output = options.output;
    this.#latency = options.latency;
    this.#metrics = options.metrics;
    this.#now = options.now;
  }

  onReply(v: ReplyView, ring: Buffer): void {
    const s = this.#sessions.table.get(v.sidHi, v.sidLo);
    if (s === undefined) return; // the session ended meanwhile
    const fifo = s.fifo;
    if (fifo.size === 0 || fifo.headXid !== v.xid) {
      this.#replyOutOfOrder(s, v.xid);
      return;
    }
    const op = fifo.headOp;
    const connId = fifo.headConnId;
    const startMs = fifo.headStartMs;
    const arg = fifo.headArg;
    fifo.shift();
    const inFlight = this.#inFlight.answered();
    const conn = s.conn;
    if (conn !== null && conn.id === connId && conn.state === ConnState.open) {
      if ((v.flags & ReplyFlag.tooLarge) !== 0) this.#replyTooLarge(conn, s, op, v.xid);
      else if ((v.flags & ReplyFlag.workerCompletes) !== 0) this.#complete(conn, s, op, v, arg, ring);
      else this.#output.writeReply(conn, v.xid, v.zxid, v.err, ring, v.bodyOffset, v.end);
      // Whole milliseconds between two readings of a millisecond clock, as ZooKeeper measures.
      const nowMs = this.#now();
      const latencyMs = Math.floor(nowMs) - Math.floor(startMs);
      noteResponse(conn, this.#latency, op, v.xid, v.zxid, latencyMs);
      this.#metrics.record(latencyHistogramOf(op), (nowMs - startMs) * 1000);
      // Resume below half the session's own bound (hysteresis), as the global rule allows.
      const sessionResume = (sessionRequestsOutstandingMax >>> 1) + 1;
      if (!this.#inFlight.throttled(fifo.size, inFlight, sessionResume)) conn.resume(Pause.throttle);
      if (v.err === Err.sessionMoved) {
        // The session is held by a newer connection (elsewhere, or here on another worker): this
        // one is fenced. The answer goes out, then the connection closes, as ZooKeeper tears it
        // down (FinalRequestProcessor: SessionMovedException is a connection-level error).
        this.#log.info({ sid: s.hex, remote: conn.remote }, `Session ${s.hex} moved: closing its old connection`);
        this.#output.closeAfterFlush(conn);
      }
    }
    if (op === OpCode.closeSession) this.#sessions.closedByClient(s);
    else if (s.conn === null && !s.local && fifo.size === 0) this.#sessions.remove(s); // drained
  }

  /** The reply was over recordBytesMax (the main thread logged its size): the connection pays,
   *  after the replies before it, as a ZooKeeper client drops one whose reply is over its
   *  jute.maxbuffer. The session lives on. */
  #replyTooLarge(conn: ClientConn, s: WorkerSession, op: number, xid: number): void {
    this.#log.warn({ remote: conn.remote, sid: s.hex, xid, op }, 'closing connection: reply too large to deliver');
    this.#output.closeAfterFlush(conn);
  }

  /** The main thread answered out of the session's order: a contract breach. Close the
   *  connection (the client reconnects and resynchronises) rather than send replies a client
   *  would reject ("Xid out of order"). */
  #replyOutOfOrder(s: WorkerSession, xid: number): void {
    const expected = s.fifo.size > 0 ? s.fifo.headXid : null;
    const msg = 'reply out of session order from the main thread';
    this.#log.error({ sid: s.hex, xid, expected }, msg);
    this.#inFlight.retire(s.fifo.size);
    s.fifo.clear();
    s.conn?.close();
  }

  /** removeWatches / checkWatches / whoAmI: the main thread kept the order, the worker answers. */
  #complete(
    conn: ClientConn,
    s: WorkerSession,
    op: number,
    v: ReplyView,
    arg: WatchOpArg | null,
    ring: Buffer,
  ): void {
    const output = this.#output;
    if (v.err !== Err.ok) {
      output.writeHeader(conn, v.xid, v.zxid, v.err);
      return;
    }
    if ((op === OpCode.removeWatches || op === OpCode.checkWatches) && arg !== null) {
      output.writeHeader(conn, v.xid, v.zxid, this.#watchOp(s, op, arg));
      return;
    }
    if (op === OpCode.whoAmI) {
      const w = this.#writer.reset();
      encodeWhoAmI(w, conn.ip, s.authIds, conn.x509?.dn ?? null);
      output.writeReply(conn, v.xid, v.zxid, Err.ok, w.bytes(), 0, w.length);
      return;
    }
    output.writeReply(conn, v.xid, v.zxid, v.err, ring, v.bodyOffset, v.end);
  }

  /**
   * FinalRequestProcessor: NoWatcher when nothing of that type is there; a type
   * WatcherType.fromInt does not know ends in MarshallingError. Types 4 and 5 (persistent,
   * persistent recursive) are 3.9's; 3.8 answers them MarshallingError too, but no 3.8 client
   * sends them. The server sends no *WatchRemoved event: the client makes those itself.
   */
  #watchOp(s: WorkerSession, op: number, arg: WatchOpArg): number {
    const bits = watcherTypeBits(arg.type);
    if (bits === 0) return Err.marshallingError;
    const found =
      op === OpCode.removeWatches
        ? this.#watches.remove(s.slot, arg.path, bits) !== 0
        : (this.#watches.bitsOf(s.slot, arg.path) & bits) !== 0;
    return found ? Err.ok : Err.noWatcher;
  }
}
