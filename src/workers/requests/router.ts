// Request routing (ZooKeeperServer.processPacket): a session's request frame is answered here
// (ping, auth, SASL, unknown opcodes) or goes to the main thread as a `request` record whose body
// is the raw jute bytes, throttled by the requests in flight and by the ring's outbox.

import { authIdCharsMax, authIdsPerSessionMax } from '../../common/limits.js';
import { Err, OpCode, Xid } from '../../common/zk.js';
import { JuteError, JuteReader } from '../../protocol/jute/index.js';
import type { WorkerInit } from '../../shm/admin.js';
import { recordBytesMax } from '../../shm/limits.js';
import { SessionFlag, requestHeaderBytes } from '../../shm/records.js';
import type { SharedStatus } from '../../shm/status.js';
import type { Bridge, RequestFields } from '../bridge.js';
import { Pause } from '../conn.js';
import { logProtocolError, type ClientConn, type WorkerSession } from '../connections/client-conn.js';
import type { Output } from '../connections/output.js';
import type { WatchOpArg } from '../fifo.js';
import { ringOutboxBytesMax, sessionRequestsOutstandingMax } from '../limits.js';
import type { WorkerLog } from '../log.js';
import { digestId } from '../session/auth.js';
import type { WorkerSessions } from '../session/lifecycle.js';
import { noteResponse, type Latency } from '../stats.js';
import type { RequestsInFlight } from './in-flight.js';
import { MetricsHistogram, type MetricsWriter } from '../../shm/metrics.js';

/** RequestHeader at the start of every request frame after the handshake: xid, type. */
export const requestFrameHeaderBytes = 8;

/** The zxid of an Unimplemented answer (UnimplementedRequestProcessor: ReplyHeader zxid -1). */
const unimplementedZxid = -1;

/** SetSASLResponse with a null token: a jute buffer of length -1. */
const saslNoToken = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/** Request.isValid (3.8) minus what the worker answers itself (ping, auth) or refuses
 *  (createSession is internal, SASL is not supported). */
function isForwarded(op: number): boolean {
  switch (op) {
    case OpCode.check:
    case OpCode.closeSession:
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.exists:
    case OpCode.getACL:
    case OpCode.getChildren:
    case OpCode.getAllChildrenNumber:
    case OpCode.getChildren2:
    case OpCode.getData:
    case OpCode.getEphemerals:
    case OpCode.multi:
    case OpCode.multiRead:
    case OpCode.reconfig:
    case OpCode.setACL:
    case OpCode.setData:
    case OpCode.setWatches:
    case OpCode.setWatches2:
    case OpCode.sync:
    case OpCode.checkWatches:
    case OpCode.removeWatches:
    case OpCode.addWatch:
    case OpCode.whoAmI:
      return true;
    default:
      return false;
  }
}

export interface RequestRouterOptions {
  init: Pick<WorkerInit, 'juteMaxBufferBytes' | 'superDigest'>;
  status: SharedStatus;
  bridge: Pick<Bridge, 'sendRequest' | 'sendAuth' | 'outboxBytes'>;
  log: WorkerLog;
  sessions: WorkerSessions;
  inFlight: RequestsInFlight;
  output: Output;
  /** Worker-wide latency (ServerStats), which a ping's answer counts in. */
  latency: Latency;
  /** Read latencies (a ping's too, as ZooKeeper counts it) for the exporter. */
  metrics: MetricsWriter;
}

export class RequestRouter {
  /** Authentications refused with AuthFailed (auth_failed_count). */
  authFailed = 0;
  readonly #superDigest: string | null;
  readonly #status: SharedStatus;
  readonly #bridge: RequestRouterOptions['bridge'];
  readonly #log: WorkerLog;
  readonly #sessions: WorkerSessions;
  readonly #inFlight: RequestsInFlight;
  readonly #output: Output;
  readonly #latency: Latency;
  readonly #metrics: MetricsWriter;
  readonly #reader: JuteReader;
  readonly #fields: RequestFields = { sidHi: 0, sidLo: 0, xid: 0, op: 0, flags: 0, timeoutMs: 0 };

  constructor(options: RequestRouterOptions) {
    this.#superDigest = options.init.superDigest;
    this.#status = options.status;
    this.#bridge = options.bridge;
    this.#log = options.log;
    this.#sessions = options.sessions;
    this.#inFlight = options.inFlight;
    this.#output = options.output;
    this.#latency = options.latency;
    this.#metrics = options.metrics;
    this.#reader = new JuteReader(undefined, { bufferBytesMax: options.init.juteMaxBufferBytes });
  }

  /**
   * One request frame [start, end) of `buf` from the connection of session `s`. Returns true when
   * it was answered on the socket at once and left nothing for the end of the turn (a ping, the
   * common case); false when the turn must end (publish, flush) as usual.
   */
  request(
    conn: ClientConn,
    s: WorkerSession,
    buf: Buffer,
    start: number,
    end: number,
    now: number,
  ): boolean {
    if (end - start < requestFrameHeaderBytes) {
      logProtocolError(this.#log, conn, `short request frame (${end - start} bytes)`);
      conn.close();
      return false;
    }
    const xid = buf.readInt32BE(start);
    const op = buf.readInt32BE(start + 4);
    const bodyStart = start + requestFrameHeaderBytes;
    this.#sessions.heard(s, now);
    switch (op) {
      case OpCode.ping:
        return this.#ping(conn);
      case OpCode.auth:
        this.#auth(conn, s, buf, bodyStart, end, xid);
        return false;
      case OpCode.removeWatches:
      case OpCode.checkWatches: {
        const arg = this.#watchOpArg(conn, buf, bodyStart, end);
        if (arg !== null) this.#forward(conn, s, buf, start, end, xid, op, arg, now);
        return false;
      }
      case OpCode.closeSession:
        s.closing = true;
        this.#forward(conn, s, buf, start, end, xid, op, null, now);
        return false;
      case OpCode.sasl:
        // No SASL provider: ZooKeeper answers at once with an empty challenge
        // (SetSASLResponse{token: null}), header zxid 0, and the session goes on.
        this.#output.writeReply(conn, xid, 0, Err.ok, saslNoToken, 0, saslNoToken.length);
        return false;
      default:
        if (isForwarded(op)) this.#forward(conn, s, buf, start, end, xid, op, null, now);
        else this.#unimplemented(conn, xid, op);
        return false;
    }
  }

  /** A `request` record: the frame's jute body goes to the ring as it came off the socket. */
  #forward(
    conn: ClientConn,
    s: WorkerSession,
    buf: Buffer,
    start: number,
    end: number,
    xid: number,
    op: number,
    arg: WatchOpArg | null,
    now: number,
  ): void {
    const bridge = this.#bridge;
    const bodyStart = start + requestFrameHeaderBytes;
    if (requestHeaderBytes + end - bodyStart > recordBytesMax) {
      // Only with a jute.maxbuffer over recordBytesMax (README: jute.maxbuffer).
      logProtocolError(this.#log, conn, `request of ${end - start} bytes is over the ring's recordBytesMax`);
      conn.close();
      return;
    }
    const r = this.#fields;
    r.sidHi = s.sidHi;
    r.sidLo = s.sidLo;
    r.xid = xid;
    r.op = op;
    r.flags = (s.local ? SessionFlag.local : 0) | (s.readOnly ? SessionFlag.readOnly : 0);
    r.timeoutMs = s.timeoutMs;
    bridge.sendRequest(r, buf, bodyStart, end);
    s.fifo.push(r.xid, r.op, conn.id, now, arg);
    const inFlight = this.#inFlight.sent();
    if (this.#inFlight.throttled(s.fifo.size, inFlight, sessionRequestsOutstandingMax)) {
      conn.pause(Pause.throttle);
    }
    if (bridge.outboxBytes > ringOutboxBytesMax) this.#output.ringPause(conn);
  }

  /** ZooKeeper answers a ping with the last processed zxid (FinalRequestProcessor). Written to
   *  the socket at once when nothing is queued before it (true), else queued behind (false). */
  #ping(conn: ClientConn): boolean {
    const zxid = this.#status.lastZxid;
    const output = this.#output;
    const now = output.writePingNow(conn, zxid);
    if (!now) output.writeHeader(conn, Xid.ping, zxid, Err.ok);
    noteResponse(conn, this.#latency, OpCode.ping, Xid.ping, zxid, 0);
    this.#metrics.record(MetricsHistogram.readLatencyUs, 0);
    return now;
  }

  /** ZooKeeperServer.processPacket, OpCode.auth: digest and ip; anything else fails and closes. */
  #auth(
    conn: ClientConn,
    s: WorkerSession,
    buf: Buffer,
    start: number,
    end: number,
    xid: number,
  ): void {
    const output = this.#output;
    let scheme: string;
    let auth: Uint8Array;
    try {
      const r = this.#reader.reset(buf, start, end);
      r.readInt(); // AuthPacket.type: unused, as in ZooKeeper
      scheme = r.readString();
      auth = r.readBuffer() ?? new Uint8Array(0);
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      logProtocolError(this.#log, conn, `malformed auth packet: ${e.message}`);
      conn.close();
      return;
    }
    if (scheme === 'digest') {
      const userPassword = Buffer.from(auth.buffer, auth.byteOffset, auth.byteLength);
      const id = digestId(userPassword.toString('utf8'));
      if (!s.authIds.has(id)) {
        // Bounded so that no session makes every ACL check, whoAmI and forwarded write it sends
        // cost more than authIdsPerSessionMax ids. Past the bound the auth is refused as
        // ZooKeeper refuses one (AuthFailed, then close): the client must not go on believing
        // it holds an id the server dropped.
        const why =
          id.length > authIdCharsMax
            ? `digest id of ${id.length} characters (authIdCharsMax ${authIdCharsMax})`
            : s.authIds.size >= authIdsPerSessionMax
              ? `more than ${authIdsPerSessionMax} auth ids on one session (authIdsPerSessionMax)`
              : null;
        if (why !== null) {
          this.#log.warn({ remote: conn.remote, sid: s.hex, scheme }, `Authentication refused: ${why}`);
          this.authFailed++;
          output.writeHeader(conn, xid, 0, Err.authFailed);
          output.closeAfterFlush(conn);
          return;
        }
        // DigestAuthenticationProvider.handleAuthentication: the super id comes first.
        if (!s.superUser && this.#superDigest !== null && id === this.#superDigest) {
          s.superUser = true;
          this.#bridge.sendAuth(s.sidHi, s.sidLo, 'super', '');
          this.#log.info({ sid: s.hex, remote: conn.remote }, 'authenticated as super');
        }
        s.addAuthId(id);
        this.#bridge.sendAuth(s.sidHi, s.sidLo, 'digest', id);
      }
      output.writeHeader(conn, xid, 0, Err.ok);
      return;
    }
    if (scheme === 'ip') {
      output.writeHeader(conn, xid, 0, Err.ok); // IPAuthenticationProvider: the ip id it already has
      return;
    }
    const fields = { remote: conn.remote, sid: s.hex, scheme };
    this.#log.warn(fields, `No authentication provider for scheme: ${scheme}`);
    this.authFailed++;
    output.writeHeader(conn, xid, 0, Err.authFailed);
    output.closeAfterFlush(conn);
  }

  #watchOpArg(conn: ClientConn, buf: Buffer, start: number, end: number): WatchOpArg | null {
    try {
      const r = this.#reader.reset(buf, start, end);
      const path = r.readString();
      return { path, type: r.readInt() };
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      logProtocolError(this.#log, conn, `malformed watch request: ${e.message}`);
      conn.close();
      return null;
    }
  }

  /** UnimplementedRequestProcessor: answer Unimplemented (zxid -1) and close. */
  #unimplemented(conn: ClientConn, xid: number, op: number): void {
    const fields = { remote: conn.remote, sid: conn.session?.hex, op };
    this.#log.warn(fields, `Received packet at server of unknown type ${op}`);
    this.#output.writeHeader(conn, xid, unimplementedZxid, Err.unimplemented);
    this.#output.closeAfterFlush(conn);
  }
}
