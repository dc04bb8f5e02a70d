// Session attach (ZooKeeperServer.processConnectRequest / reopenSession / finishSessionInit): a
// fresh connection's ConnectRequest becomes a new session, a re-established one, or an "invalid
// session" answer. New local sessions and local re-attaches are answered here; global ones wait
// for the main thread's `attached` record. Connects that arrive before the session secret wait.
//
// Every ConnectRequest first takes its tokens from the server-wide connection throttle
// (ZooKeeperServer.processConnectRequest: connThrottle.checkLimit(tokensNeeded)): a new global
// session its global weight, a new local one its local weight, a session id its renew weight (1
// each unless connThrottleWeightEnabled). A connect refused is closed without an answer, as
// ZooKeeper closes it (ClientCnxnLimitException); its client tries again at once (the next host,
// or the same one after its short reconnect pause), never waiting out a session timeout.

import type { X509Identity } from '../tls.js';
import { sessionIdHi, sessionIdLo, sessionIdOf } from '../../common/ids.js';
import { Err } from '../../common/zk.js';
import { JuteError, JuteReader, JuteWriter, decodeConnectRequest } from '../../protocol/jute/index.js';
import type { ConnectRequest } from '../../protocol/types.js';
import type { WorkerInit } from '../../shm/admin.js';
import { DetachReason, SessionFlag, type AttachedView } from '../../shm/records.js';
import type { SharedStatus } from '../../shm/status.js';
import { ConnectKind, type ConnThrottle } from '../../shm/connthrottle.js';
import { connThrottleLogIntervalMs } from '../limits.js';
import type { Bridge } from '../bridge.js';
import { ConnState, Pause } from '../conn.js';
import { logProtocolError, type ClientConn, type PendingAttach, type WorkerSession } from '../connections/client-conn.js';
import type { Output } from '../connections/output.js';
import type { ConnRegistry } from '../connections/registry.js';
import type { WorkerLog } from '../log.js';
import {
  SessionIdGenerator,
  connectRequestBytesWithoutReadOnly,
  connectResponseFrame,
  connectResponseFrameBytes,
  planConnect,
  sessionPasswordBytes,
  writeConnectResponseFrame,
  type ConnectContext,
} from './handshake.js';
import type { WorkerSessions } from './lifecycle.js';

/** A ConnectRequest held until the worker knows the session secret (its connection paused). */
interface HeldConnect {
  conn: ClientConn;
  req: ConnectRequest;
  oldClient: boolean;
}

export function hexOf(hi: number, lo: number): string {
  return `0x${sessionIdOf(hi, lo).toString(16)}`;
}

export interface SessionAttachOptions {
  init: WorkerInit;
  status: SharedStatus;
  bridge: Pick<Bridge, 'sendAttach' | 'sendDetach' | 'sendAuth'>;
  log: WorkerLog;
  sessions: WorkerSessions;
  conns: ConnRegistry;
  output: Output;
  now: () => number;
  /** The server-wide connection throttle (shared by every worker). */
  throttle: ConnThrottle;
  /** Randomness for the throttle's BLUE drops (Math.random by default). */
  random?: () => number;
}

export class SessionAttach {
  readonly #bridge: SessionAttachOptions['bridge'];
  readonly #log: WorkerLog;
  readonly #sessions: WorkerSessions;
  readonly #conns: ConnRegistry;
  readonly #output: Output;
  readonly #now: () => number;
  readonly #throttle: ConnThrottle;
  readonly #random: () => number;
  readonly #ids: SessionIdGenerator;
  readonly #connectContext: ConnectContext;
  readonly #reader: JuteReader;
  readonly #writer = new JuteWriter(256);
  readonly #idScratch = { hi: 0, lo: 0 };
  /** The fields of the ConnectResponse being written (reused). */
  readonly #response = { timeoutMs: 0, hi: 0, lo: 0, secret: '', oldClient: false };
  /** The connection whose ConnectRequest planConnect is looking at (its `remote`). */
  #planning: ClientConn | null = null;
  /** Connects that arrived before the session secret (a new ensemble's first leader writes it). */
  #heldConnects: HeldConnect[] = [];

  constructor(options: SessionAttachOptions) {
    const init = options.init;
    this.#bridge = options.bridge;
    this.#log = options.log;
    this.#sessions = options.sessions;
    this.#conns = options.conns;
    this.#output = options.output;
    this.#now = options.now;
    this.#throttle = options.throttle;
    this.#random = options.random ?? Math.random;
    this.#ids = new SessionIdGenerator(init.serverId, init.workerIndex);
    // bufferViews: the ConnectRequest's password is a view into the frame, valid during the
    // call only (a connect held for the session secret copies it).
    this.#reader = new JuteReader(undefined, { bufferBytesMax: init.juteMaxBufferBytes, bufferViews: true });
    const status = options.status;
    const table = options.sessions.table;
    const planning = (): ClientConn | null => this.#planning;
    this.#connectContext = {
      // Made only for a refusal's message ('ip:port' is a string per connect otherwise).
      get remote() {
        return planning()?.remote ?? '';
      },
      get serving() {
        return status.serving;
      },
      get lastZxid() {
        return status.lastZxid;
      },
      minSessionTimeoutMs: init.minSessionTimeoutMs,
      maxSessionTimeoutMs: init.maxSessionTimeoutMs,
      localSessionsEnabled: init.localSessionsEnabled,
      sessionSecret: init.sessionSecret,
      knownLocal: (hi, lo) => table.get(hi, lo)?.local === true,
    };
  }

  /** The secret is known (or changed): connects held for it go on, in arrival order. */
  setSessionSecret(secret: string): void {
    this.#connectContext.sessionSecret = secret;
    if (secret === '') return;
    const held = this.#heldConnects;
    this.#heldConnects = [];
    const now = this.#now();
    for (const h of held) {
      if (this.#conns.get(h.conn.id) !== h.conn || h.conn.state !== ConnState.fresh) continue;
      // Planned while still paused: frames the client sent after its ConnectRequest must not be
      // read as one. An answered session reads on; one that waits for `attached` stays paused.
      this.#planConnect(h.conn, h.req, h.oldClient, now);
      if ((h.conn.state as number) === ConnState.open) h.conn.resume(Pause.handshake);
    }
    this.#output.scheduleTurn();
  }

  /** `conn` closed: a connect it held is dropped, an attach it waits for is given up. */
  closed(conn: ClientConn): void {
    if (this.#heldConnects.length > 0) this.#heldConnects = this.#heldConnects.filter((h) => h.conn !== conn);
    const p = conn.pending;
    if (p !== null) {
      conn.pending = null;
      this.#bridge.sendDetach(p.sidHi, p.sidLo, conn.id, DetachReason.connectionClosed);
    }
  }

  /** The first frame of a fresh connection: its ConnectRequest. */
  connect(conn: ClientConn, buf: Buffer, start: number, end: number, now: number): void {
    let req: ConnectRequest;
    try {
      req = decodeConnectRequest(this.#reader.reset(buf, start, end));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      logProtocolError(this.#log, conn, `malformed ConnectRequest: ${e.message}`);
      conn.close();
      return;
    }
    if (!this.#connectContext.serving) {
      // Refused before the throttle, as ZooKeeper refuses it (NIOServerCnxn.readConnectRequest:
      // "ZooKeeperServer not running") before processConnectRequest takes tokens: a connect that
      // comes while the server is still starting takes none, and its client's retry is not shed.
      this.#log.info({ remote: conn.remote }, 'ZooKeeperServer not running');
      conn.close();
      return;
    }
    if (!this.#admit(conn, req)) return;
    const oldClient = end - start <= connectRequestBytesWithoutReadOnly(req.passwd.length);
    if (this.#connectContext.sessionSecret === '') {
      // No password can be made or checked yet: hold the connect (its connection paused, as
      // ZooKeeper's is until the session is set up); the sessionless timeout still closes it.
      const passwd = Uint8Array.from(req.passwd.subarray(0, sessionPasswordBytes + 1));
      this.#heldConnects.push({ conn, req: { ...req, passwd }, oldClient });
      conn.pause(Pause.handshake);
      return;
    }
    this.#planConnect(conn, req, oldClient, now);
  }

  /** Take the connect's tokens from the throttle, or close the connection without an answer. */
  #admit(conn: ClientConn, req: ConnectRequest): boolean {
    const t = this.#throttle;
    let kind: ConnectKind = ConnectKind.renew;
    if (req.sessionId === 0n) {
      const local = req.localSession || this.#connectContext.localSessionsEnabled;
      kind = local ? ConnectKind.newLocal : ConnectKind.newGlobal;
    }
    // A clock all workers share (performance.now() alone counts from each thread's start).
    const nowMs = performance.timeOrigin + performance.now();
    if (t.check(t.weight(kind), nowMs, this.#random)) return true;
    conn.close();
    const refused = t.refusedToReport(nowMs, connThrottleLogIntervalMs);
    if (refused > 0) {
      const fields = { remote: conn.remote, refused, tokens: t.maxTokens };
      const msg =
        `Connection throttle: refused ${refused} connect(s) since the last report, the last from ` +
        `/${conn.remote}; their clients connect again`;
      this.#log.warn(fields, msg);
    }
    return false;
  }

  #planConnect(conn: ClientConn, req: ConnectRequest, oldClient: boolean, now: number): void {
    const hi = sessionIdHi(req.sessionId);
    const lo = sessionIdLo(req.sessionId);
    this.#planning = conn;
    const plan = planConnect(req, hi, lo, this.#connectContext);
    this.#planning = null;
    switch (plan.kind) {
      case 'refuse':
        this.#log.info({ remote: conn.remote }, plan.message);
        conn.close();
        return;
      case 'badPassword':
        this.#badPassword(conn, req, hi, lo, oldClient);
        return;
      case 'create':
        this.#create(conn, req, plan.local, plan.timeoutMs, oldClient, now);
        return;
      case 'reattachLocal':
        this.#reattachLocal(conn, req, hi, lo, plan.timeoutMs, oldClient, now);
        return;
      case 'reconnect': {
        const { timeoutMs } = plan;
        const readOnly = req.readOnly;
        const p = { sidHi: hi, sidLo: lo, timeoutMs, create: false, readOnly, oldClient };
        this.#awaitAttached(conn, req, p);
        return;
      }
    }
  }

  #create(
    conn: ClientConn,
    req: ConnectRequest,
    local: boolean,
    timeoutMs: number,
    oldClient: boolean,
    now: number,
  ): void {
    const table = this.#sessions.table;
    const id = this.#idScratch;
    this.#ids.next(id);
    // Unique within this run; one from before a restart (another key) could match by chance.
    while (table.get(id.hi, id.lo) !== undefined) this.#ids.next(id);
    if (!local) {
      const readOnly = req.readOnly;
      const p = { sidHi: id.hi, sidLo: id.lo, timeoutMs, create: true, readOnly, oldClient };
      this.#awaitAttached(conn, req, p);
      return;
    }
    const s = table.add(id.hi, id.lo, timeoutMs, true, req.readOnly);
    if (s === undefined) {
      this.#log.warn({ remote: conn.remote }, 'closing connection: session table full');
      conn.close();
      return;
    }
    const flags = SessionFlag.local | SessionFlag.create;
    this.#sendAttach(conn, s.sidHi, s.sidLo, flags, timeoutMs, req, true, true);
    this.#established(conn, s, oldClient, now, 'new local');
  }

  /** A reconnect of a local session this worker holds: answered here (LocalSessionTracker). */
  #reattachLocal(
    conn: ClientConn,
    req: ConnectRequest,
    hi: number,
    lo: number,
    timeoutMs: number,
    oldClient: boolean,
    now: number,
  ): void {
    const s = this.#sessions.table.get(hi, lo)!;
    this.#sessions.takeOver(s, conn);
    s.timeoutMs = timeoutMs;
    s.readOnly = req.readOnly;
    // No answer is awaited: the record tells the main thread the session's new connection and
    // ip (it resets the session's auth ids to that ip, as for any attach).
    this.#sendAttach(conn, hi, lo, SessionFlag.local, timeoutMs, req, true, true);
    this.#established(conn, s, oldClient, now, 'renewed local');
  }

  /**
   * A reconnect with the wrong password: "invalid session" (as ZooKeeper answers it), then close.
   * ZooKeeperServer.processConnectRequest closes the connection that holds the session before
   * reopenSession checks the password; zkts does not: whoever knows a session id (cons, dump and
   * wchc print them) could otherwise cut its holder off at will. The holder keeps its connection
   * and its session. The attach record (passwdOk false, no answer awaited) only tells the main
   * thread, which logs nothing more and changes nothing.
   */
  #badPassword(
    conn: ClientConn,
    req: ConnectRequest,
    hi: number,
    lo: number,
    oldClient: boolean,
  ): void {
    const sid = hexOf(hi, lo);
    const msg = `Incorrect password from /${conn.remote} for session ${sid}`;
    this.#log.warn({ remote: conn.remote, sid }, msg);
    this.#sendAttach(conn, hi, lo, 0, 0, req, false, true);
    this.#invalidSession(conn, hi, lo, oldClient);
  }

  #awaitAttached(conn: ClientConn, req: ConnectRequest, p: PendingAttach): void {
    conn.pending = p;
    conn.state = ConnState.handshaking;
    conn.pause(Pause.handshake); // ZooKeeper: cnxn.disableRecv() until the session is set up
    const flags = p.create ? SessionFlag.create : 0;
    this.#sendAttach(conn, p.sidHi, p.sidLo, flags, p.timeoutMs, req, true, false);
  }

  #sendAttach(
    conn: ClientConn,
    hi: number,
    lo: number,
    flags: number,
    timeoutMs: number,
    req: ConnectRequest,
    passwdOk: boolean,
    /** No answer is awaited: the main thread need not be woken at once (Bridge.sendAttach). */
    quiet: boolean,
  ): void {
    this.#bridge.sendAttach({
      sidHi: hi,
      sidLo: lo,
      flags: flags | (req.readOnly ? SessionFlag.readOnly : 0),
      timeoutMs,
      lastZxidSeen: req.lastZxidSeen,
      connId: conn.id,
      passwdOk,
      ip: conn.ip,
    }, quiet);
  }

  /** The main thread's answer to an attach. */
  onAttached(v: AttachedView): void {
    const conn = this.#conns.get(v.connId);
    const p = conn?.pending;
    // Answers nobody waits for (new local sessions, local re-attaches, bad passwords,
    // connections closed meanwhile) are ignored.
    if (conn === undefined || p == null || conn.state !== ConnState.handshaking) return;
    if (p.sidHi !== v.sidHi || p.sidLo !== v.sidLo) return;
    conn.pending = null;
    if (v.err === Err.ok) {
      // A new session has the timeout its attach asked for; a reconnect gets the one negotiated
      // from its own ConnectRequest, as ZooKeeper answers it (processConnectRequest sets it on
      // the new connection before reopenSession), not the one the session had before.
      this.#attachedOk(conn, p, (v.flags & SessionFlag.local) !== 0);
      return;
    }
    const e = v.err;
    if (e === Err.sessionExpired || e === Err.sessionMoved || e === Err.unknownSession) {
      this.#invalidSession(conn, p.sidHi, p.sidLo, p.oldClient);
      return;
    }
    const sid = hexOf(p.sidHi, p.sidLo);
    this.#log.warn({ remote: conn.remote, sid, err: v.err }, 'closing connection: session refused');
    conn.close();
  }

  #attachedOk(conn: ClientConn, p: PendingAttach, local: boolean): void {
    const table = this.#sessions.table;
    let s = table.get(p.sidHi, p.sidLo);
    if (s !== undefined) {
      // Back on this worker (its old connection may still be open): keep the entry, so the
      // replies still due to the old connection are matched and dropped in order.
      this.#sessions.takeOver(s, conn);
      table.setLocal(s, local);
      s.timeoutMs = p.timeoutMs;
      s.readOnly = p.readOnly;
    } else {
      s = table.add(p.sidHi, p.sidLo, p.timeoutMs, local, p.readOnly);
      if (s === undefined) {
        this.#log.warn({ remote: conn.remote }, 'closing connection: session table full');
        conn.close();
        return;
      }
    }
    if (!local) this.#sessions.stopExpiring(s);
    const how = p.create ? 'new global' : local ? 'moved local' : 'renewed global';
    this.#established(conn, s, p.oldClient, this.#now(), how);
    conn.resume(Pause.handshake);
  }

  #established(
    conn: ClientConn,
    s: WorkerSession,
    oldClient: boolean,
    now: number,
    how: string,
  ): void {
    s.conn = conn;
    conn.session = s;
    conn.state = ConnState.open;
    if (conn.x509 !== null) this.#x509Auth(conn.x509, s);
    this.#conns.touch(conn, now, s.timeoutMs);
    this.#sessions.established(s, now);
    // Written straight into the output slab: nothing allocated per connect.
    const r = this.#response;
    r.timeoutMs = s.timeoutMs;
    r.hi = s.sidHi;
    r.lo = s.sidLo;
    r.secret = this.#connectContext.sessionSecret;
    r.oldClient = oldClient;
    const bytes = connectResponseFrameBytes(oldClient);
    const slab = this.#output.slab;
    const off = slab.reserve(bytes);
    writeConnectResponseFrame(slab.buf, off, r);
    this.#output.mark(conn).commitOut(off, bytes);
    // A line per session: nothing of it is built unless the level lets it through (warn by default).
    if (this.#log.isLevelEnabled('info')) {
      this.#log.info(
        { sid: s.hex, remote: conn.remote, timeoutMs: s.timeoutMs, local: s.local },
        `Established session ${s.hex} (${how}) with negotiated timeout ${s.timeoutMs} ` +
          `for client /${conn.remote}`,
      );
    }
    this.#output.scheduleTurn();
  }

  /**
   * X509AuthenticationProvider.handleAuthentication, run by NettyServerCnxnFactory's
   * CertificateVerifier once the handshake is done: the connection's client certificate gives it
   * the id x509:<subject DN> (and super, for X509AuthenticationProvider.superUser). The handshake
   * sets it, not addauth; it is the connection's, so each attach of a session on it adds it again
   * (after the main thread reset the session's ids to the ip one). Sent before the
   * ConnectResponse: the session's first request follows it on the ring.
   */
  #x509Auth(x: X509Identity, s: WorkerSession): void {
    if (x.superUser && !s.superUser) {
      s.superUser = true;
      this.#bridge.sendAuth(s.sidHi, s.sidLo, 'super', '');
    }
    this.#bridge.sendAuth(s.sidHi, s.sidLo, 'x509', x.dn);
  }

  /** finishSessionInit(cnxn, false): timeOut 0, session id 0, zero password, then close. */
  #invalidSession(conn: ClientConn, hi: number, lo: number, oldClient: boolean): void {
    if (this.#log.isLevelEnabled('info')) {
      const sid = hexOf(hi, lo);
      this.#log.info(
        { remote: conn.remote, sid },
        `Invalid session ${sid} for client /${conn.remote}, probably expired`,
      );
    }
    const frame = connectResponseFrame(this.#writer, {
      valid: false,
      timeoutMs: 0,
      sessionId: 0n,
      passwd: new Uint8Array(0),
      oldClient,
    });
    this.#output.mark(conn).writeShared(frame);
    conn.closeAfterFlush();
    this.#output.scheduleTurn();
  }
}
