// The session worker: owns client connections and sessions, and is the worker end of the ring
// contract (src/shm/records.ts). What it does, in ZooKeeper's terms:
//
// - NIOServerCnxn / ServerCnxn: frames, four-letter words, per-connection stats (conn.ts);
// - ZooKeeperServer.processConnectRequest / processPacket: handshake, ping, auth (session/,
//   requests/router.ts); every other request goes to the main thread as a `request` record
//   whose body is the raw jute bytes, and comes back as a `reply` record in the session's order;
// - the learner's session tracking: local sessions expire here, global ones are reported as
//   touched to the main thread in batches (session/lifecycle.ts);
// - WatchManager for this worker's sessions: `watchRegister` records fill the table, `event`
//   records fan out (watches/).
//
// This file only wires the parts and routes the callbacks of the sockets (ConnHandler), the ring
// (BridgeHandler) and the main thread's messages to them. Each part is a small class that is
// handed, at construction, the few parts below it that it calls (an options object, no shared
// state object); only those callbacks come back up here, and the calls between parts go one
// way, top to bottom:
//
//   FourLetterAnswers   fourletter.ts            4lw connections and the answers they wait for
//   SessionAttach       session/attach.ts        ConnectRequest → session, or "invalid session"
//   RequestRouter       requests/router.ts       a session's request: answered here or forwarded
//   ReplyMatcher        requests/replies.ts      a `reply` record → the connection that asked
//   WorkerSessions      session/lifecycle.ts     the session table, expiry, touches, session ends
//   RequestsInFlight    requests/in-flight.ts    requests at the main thread; the read throttle
//   ConnRegistry        connections/registry.ts  connection ids, slots, idle expiry
//   Output              connections/output.ts    per-turn flush, output and ring backpressure
//
// The watch table (watches/table.ts) is shared data: the session lifecycle drops a session's
// watches, the reply matcher answers removeWatches / checkWatches from it, Fanout fires it.
// Statistics (stats.ts) read the registry, the session table, the watches and the counters.

import { AssertionError } from '../common/assert.js';
import { WatchKind } from '../common/zk.js';
import type { MainToWorkerMessage, StatsRequestMessage, WorkerInit, WorkerStats, WorkerToMainMessage } from '../shm/admin.js';
import type { IpCountTable } from '../shm/ipcount.js';
import { largeRecordBufferTrimMs } from '../shm/limits.js';
import type {
  AttachedView,
  EventView,
  ReplyView,
  SessionEndView,
  WatchRegisterView,
} from '../shm/records.js';
import type { SharedStatus } from '../shm/status.js';
import { ConnThrottle } from '../shm/connthrottle.js';
import type { Bridge, BridgeHandler } from './bridge.js';
import { ConnState, ResponseSizes, type Conn, type ConnHandler, type ConnSocket, type IoCounters } from './conn.js';
import type { Socket } from 'node:net';
import { logProtocolError, type ClientConn } from './connections/client-conn.js';
import { Output } from './connections/output.js';
import { ConnRegistry } from './connections/registry.js';
import { FourLetterAnswers } from './fourletter.js';
import { clientIp, Listener } from './listener.js';
import { TlsPort, type X509Identity } from './tls.js';
import type { WorkerLog } from './log.js';
import { RequestsInFlight } from './requests/in-flight.js';
import { ReplyMatcher } from './requests/replies.js';
import { RequestRouter } from './requests/router.js';
import { SessionAttach } from './session/attach.js';
import { metricsGaugeIntervalMs, sessionlessConnectionTimeoutMs } from './limits.js';
import { WorkerSessions } from './session/lifecycle.js';
import { MetricsGauge, MetricsHistogram, MetricsWriter } from '../shm/metrics.js';
import { Latency, workerCounts, workerStats, type WorkerStatsSources } from './stats.js';
import { Fanout } from './watches/fanout.js';
import { mayRead } from './watches/readers.js';
import { WatchTable } from './watches/table.js';
import { WsTransport } from './ws-transport.js';


export interface SessionWorkerOptions {
  init: WorkerInit;
  bridge: Bridge;
  status: SharedStatus;
  ipCounts: IpCountTable;
  log: WorkerLog;
  /** postMessage to the main thread (four-letter words, stats, lifecycle). */
  post(message: WorkerToMainMessage): void;
  /** Monotonic milliseconds (performance.now by default). */
  now?: () => number;
}

export class SessionWorker implements ConnHandler, BridgeHandler {
  readonly #init: WorkerInit;
  readonly #bridge: Bridge;
  readonly #log: WorkerLog;
  readonly #post: (message: WorkerToMainMessage) => void;
  readonly #now: () => number;
  /** The plain client port (null: secureClientPort alone) and the TLS one (null: none). */
  readonly #listener: Listener | null;
  readonly #secureListener: Listener | null;
  readonly #tls: TlsPort | null;
  /** The WebSocket client transport (ws-transport.ts), when configured. */
  readonly #ws: WsTransport | null;

  readonly #watches = new WatchTable();
  readonly #counters: IoCounters = { packetsReceived: 0, packetsSent: 0, responseSizes: new ResponseSizes() };
  /** Connections the listener refused (maxClientCnxns), for connection_rejected. */
  #connectionsRefused = 0;
  readonly #latency = new Latency(); // worker-wide (ServerStats)
  readonly #output: Output;
  readonly #conns: ConnRegistry;
  readonly #sessions: WorkerSessions;
  readonly #attach: SessionAttach;
  readonly #router: RequestRouter;
  readonly #replies: ReplyMatcher;
  readonly #fourLetter: FourLetterAnswers;
  readonly #fanout: Fanout<ClientConn>;
  readonly #statsSources: WorkerStatsSources;
  /** Figures for the Prometheus exporter, in shared memory (src/shm/metrics.ts). */
  readonly #metrics: MetricsWriter;
  #tickDueMs = 0;
  #gaugesPublishedMs = -Infinity;
  #tickTimer: NodeJS.Timeout | undefined;
  #buffersTrimmedMs = 0;
  #stopped = false;

  constructor(options: SessionWorkerOptions) {
    const init = options.init;
    const bridge = options.bridge;
    const status = options.status;
    const log = options.log;
    const now = options.now ?? (() => performance.now());
    this.#init = init;
    this.#bridge = bridge;
    this.#log = log;
    this.#post = options.post;
    this.#now = now;
    const nowMs = now();
    const output = new Output(bridge, log);
    const conns = new ConnRegistry({
      handler: this,
      slab: output.slab,
      counters: this.#counters,
      frameBytesMax: init.juteMaxBufferBytes,
      log,
      tickTimeMs: init.tickTimeMs,
      nowMs,
    });
    const inFlight = new RequestsInFlight({
      status,
      log,
      globalOutstandingLimit: init.globalOutstandingLimit,
      now,
    });
    const watches = this.#watches;
    const sessions = new WorkerSessions({
      bridge,
      log,
      watches,
      inFlight,
      output,
      tickTimeMs: init.tickTimeMs,
      nowMs,
    });
    const latency = this.#latency;
    const metrics = new MetricsWriter(init.metrics, init.workerIndex);
    this.#metrics = metrics;
    this.#output = output;
    this.#conns = conns;
    this.#sessions = sessions;
    const throttle = ConnThrottle.attach(init.connThrottle);
    this.#attach = new SessionAttach({ init, status, bridge, log, sessions, conns, output, now, throttle });
    this.#router = new RequestRouter({ init, status, bridge, log, sessions, inFlight, output, latency, metrics });
    this.#replies = new ReplyMatcher({ log, sessions, watches, inFlight, output, latency, metrics, now });
    this.#fourLetter = new FourLetterAnswers({
      whitelist: init.fourLetterWhitelist,
      workerIndex: init.workerIndex,
      log,
      output,
      post: options.post,
    });
    const table = sessions.table;
    this.#fanout = new Fanout(
      watches,
      (slot) => {
        const c = table.at(slot)?.conn;
        return c == null || c.state !== ConnState.open ? null : c;
      },
      (bytes) => {
        const off = output.slab.reserve(bytes);
        return output.slab.buf.subarray(off, off + bytes);
      },
      (slot, readers) => {
        const s = table.at(slot);
        return s !== undefined && s.conn !== null && mayRead(readers, s.superUser, s.authIds, s.conn.ip, s.conn.x509?.dn ?? null);
      },
      (c, frame) => output.writeShared(c, frame),
    );
    this.#statsSources = {
      workerIndex: init.workerIndex,
      conns,
      sessions: table,
      watches,
      counters: this.#counters,
      latency,
      outstanding: () => inFlight.outstanding,
      authFailed: () => this.#router.authFailed,
    };
    const listener = (spec: NonNullable<WorkerInit['listen']>, handOff?: (raw: Socket) => void): Listener =>
      new Listener({
        spec,
        ipCounts: options.ipCounts,
        maxClientCnxns: init.maxClientCnxns,
        sharedPort: init.workerCount > 1,
        log,
        onConnection: (socket, ip, counted) => this.#accept(socket, ip, counted, null),
        onRefused: () => this.#connectionsRefused++,
        ...(handOff === undefined ? {} : { handOff }),
      });
    this.#listener = init.listen === null ? null : listener(init.listen);
    const tls = init.tls === null || init.secureListen === null ? null : new TlsPort({
      init: init.tls,
      counters: new Int32Array(init.tlsCounters),
      log,
      // The listener counted the raw socket for maxClientCnxns and releases it when it closes.
      onSecure: (socket, identity) => this.#accept(socket, clientIp(socket), false, identity),
    });
    this.#tls = tls;
    this.#secureListener = tls === null || init.secureListen === null ? null : listener(init.secureListen, (raw) => tls.handle(raw));
    const ws = init.webSocket ?? null;
    const admitting = this.#listener ?? this.#secureListener;
    this.#ws =
      ws === null || admitting === null
        ? null
        : new WsTransport({
            ...ws,
            frameBytesMax: init.juteMaxBufferBytes,
            workerIndex: init.workerIndex,
            workerCount: init.workerCount,
            log,
            // maxClientCnxns counts a client's connections on every port together.
            admit: (ip) => admitting.admit(ip),
            onConnection: (socket, ip, counted) => this.#accept(socket, ip, counted, null),
          });
  }

  // ============================================================================ lifecycle

  /** Listen, pump the ring, start the tick. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    this.#bridge.start(this).catch((err: unknown) => {
      // A broken record from the main thread is a programmer error: crash the thread (and so
      // the process) rather than run past it.
      this.closeNow();
      setImmediate(() => {
        throw err;
      });
    });
    const tickMs = Math.max(1, Math.floor(this.#init.tickTimeMs / 2));
    this.#tickDueMs = this.#now() + tickMs;
    this.#tickTimer = setInterval(() => this.#tick(), tickMs);
    this.#tickTimer.unref();
    const plain = this.#listener?.start();
    const secure = this.#secureListener?.start();
    const [a, b] = await Promise.all([plain, secure]);
    const address = a ?? b;
    if (address === undefined) throw new Error('session worker: no client port to listen on');
    await this.#ws?.start();
    return address;
  }

  /** Stop accepting, close every connection, close the channel (releasing its doorbells). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tickTimer !== undefined) clearInterval(this.#tickTimer);
    const closing = Promise.all([this.#listener?.close(), this.#secureListener?.close()]);
    this.#tls?.close();
    for (const conn of [...this.#conns.values()]) conn.close();
    this.#bridge.close();
    await Promise.all([closing, this.#ws?.close()]);
  }

  /** The thread is going down on an error: close what must be closed before it exits (a uWS app
   *  left open aborts the process). */
  closeNow(): void {
    void this.#ws?.close();
  }

  onAdminMessage(m: MainToWorkerMessage): void {
    switch (m.type) {
      case 'fourLetterReply':
        this.#fourLetter.reply(m.reqId, m.text);
        return;
      case 'stats': {
        const stats = this.stats(m);
        const workerIndex = this.#init.workerIndex;
        this.#post({ type: 'statsReply', reqId: m.reqId, workerIndex, stats });
        return;
      }
      case 'stop':
        void this.stop();
        return;
      case 'sessionSecret':
        this.#attach.setSessionSecret(m.secret);
        return;
      case 'tlsReload':
        try {
          this.#tls?.reload(m.keys);
          this.#log.info({}, 'secureClientPort: key and trust stores reloaded');
        } catch (e) {
          // A store that does not make a context (a wrong password, a key that is not the
          // certificate's): the one in use stays.
          this.#log.error({ err: (e as Error).message }, 'secureClientPort: reloaded stores refused; keeping the ones in use');
        }
        return;
    }
  }

  /** Sessions held by this worker (tests). */
  get sessionCount(): number {
    return this.#sessions.table.size;
  }

  stats(req: Pick<StatsRequestMessage, 'reset' | 'sections'> = {}): WorkerStats {
    return workerStats(this.#statsSources, req);
  }

  #tick(): void {
    const now = this.#now();
    this.#publishMetrics(now);
    this.#sessions.poll(now);
    this.#conns.poll(now);
    if (now - this.#buffersTrimmedMs >= largeRecordBufferTrimMs) {
      this.#buffersTrimmedMs = now;
      this.#bridge.channel.releaseIdleBuffers();
    }
    this.#sessions.flushTouches();
    this.#output.endTurn();
  }

  /** The tick's lateness (event-loop delay) and the gauges, for the exporter. */
  #publishMetrics(now: number): void {
    const m = this.#metrics;
    m.record(MetricsHistogram.tickDelayUs, Math.max(0, now - this.#tickDueMs) * 1000);
    this.#tickDueMs = now + Math.max(1, Math.floor(this.#init.tickTimeMs / 2));
    if (now - this.#gaugesPublishedMs < metricsGaugeIntervalMs) return;
    this.#gaugesPublishedMs = now;
    const table = this.#sessions.table;
    m.setGauge(MetricsGauge.sessionsGlobal, table.globalCount);
    m.setGauge(MetricsGauge.sessionsLocal, table.localCount);
    m.setGauge(MetricsGauge.watches, this.#watches.watchCount);
    // mntr's worker figures, the same values a stats message would get (sumCounts adds them up).
    const c = workerCounts(this.#statsSources);
    m.setGauge(MetricsGauge.connections, c.aliveConnections);
    m.setGauge(MetricsGauge.packetsReceived, c.packetsReceived);
    m.setGauge(MetricsGauge.packetsSent, c.packetsSent);
    m.setGauge(MetricsGauge.outstandingRequests, c.outstandingRequests);
    m.setGauge(MetricsGauge.latencyMinMs, c.minLatencyMs);
    m.setGauge(MetricsGauge.latencyMaxMs, c.maxLatencyMs);
    m.setGauge(MetricsGauge.latencyTotalMs, c.latencyTotalMs);
    m.setGauge(MetricsGauge.latencyCount, c.latencyCount);
    m.setGauge(MetricsGauge.responseSizeLast, c.responseSizeLast);
    m.setGauge(MetricsGauge.responseSizeMin, c.responseSizeMin);
    m.setGauge(MetricsGauge.responseSizeMax, c.responseSizeMax);
    m.setGauge(MetricsGauge.authFailed, c.authFailed);
    m.setGauge(MetricsGauge.connectionsRefused, this.#connectionsRefused);
  }

  // ============================================================================ connections

  #accept(socket: ConnSocket, ip: string, counted: boolean, x509: X509Identity | null): void {
    if (this.#stopped) {
      socket.destroy();
      if (counted) (this.#listener ?? this.#secureListener)?.release(ip);
      return;
    }
    const conn = this.#conns.add(socket, ip, this.#now());
    conn.ipCounted = counted;
    conn.x509 = x509;
    conn.start();
  }

  onFrame(c: Conn, buf: Buffer, start: number, end: number): void {
    const conn = c as ClientConn;
    const now = this.#now();
    const s = conn.session;
    const idleMs = s === null ? sessionlessConnectionTimeoutMs : s.timeoutMs;
    this.#conns.touch(conn, now, idleMs);
    if (conn.state === ConnState.fresh) {
      this.#attach.connect(conn, buf, start, end, now);
    } else if (conn.state === ConnState.open && s !== null) {
      if (this.#router.request(conn, s, buf, start, end, now)) return; // answered: no turn to end
    }
    this.#output.scheduleTurn();
  }

  onProtocolError(c: Conn, message: string): void {
    logProtocolError(this.#log, c as ClientConn, message);
  }

  onClose(c: Conn): void {
    const conn = c as ClientConn;
    this.#output.forget(conn);
    this.#conns.remove(conn);
    if (conn.ipCounted) (this.#listener ?? this.#secureListener)?.release(conn.ip);
    this.#fourLetter.closed(conn);
    this.#attach.closed(conn);
    const s = conn.session;
    if (s !== null && s.conn === conn) this.#sessions.detached(s, conn);
    this.#output.scheduleTurn();
  }

  onFourLetter(c: Conn, code: number): boolean {
    return this.#fourLetter.onFourLetter(c as ClientConn, code);
  }

  // ============================================================================ ring records

  onAttached(v: AttachedView): void {
    this.#attach.onAttached(v);
  }

  onReply(v: ReplyView, ring: Buffer): void {
    this.#replies.onReply(v, ring);
  }

  onEvent(v: EventView): void {
    if (v.targetHi !== 0 || v.targetLo !== 0) {
      const c = this.#sessions.table.get(v.targetHi, v.targetLo)?.conn;
      if (c != null && c.state === ConnState.open) {
        this.#fanout.deliverTo(this.#output.mark(c), v.type, v.path);
      }
      return;
    }
    this.#metrics.record(MetricsHistogram.fanoutSessions, this.#fanout.deliver(v.type, v.path, v.readers));
  }

  onWatchRegister(v: WatchRegisterView): void {
    const s = this.#sessions.table.get(v.sidHi, v.sidLo);
    // Watches belong to a connection: one registered after it closed is dropped with it.
    if (s === undefined || s.conn === null) return;
    if (v.kind < WatchKind.data || v.kind > WatchKind.persistentRecursive) {
      throw new AssertionError(`watchRegister: bad watch kind ${v.kind}`);
    }
    this.#watches.add(s.slot, v.path, v.kind);
  }

  onSessionEnd(v: SessionEndView): void {
    this.#sessions.ended(v);
  }

  onUpgraded(sidHi: number, sidLo: number): void {
    this.#sessions.upgraded(sidHi, sidLo);
  }

  afterBatch(): void {
    this.#output.flush();
  }
}
