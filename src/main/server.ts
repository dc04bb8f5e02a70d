// One zkts server process (standalone, or an ensemble member through driver.ts): the main thread
// owns the database and the write pipeline; the session workers own the client sockets. This
// file only wires them together.

import { mkdirSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { createChannelDescriptor, type ChannelDescriptor } from '../shm/channel.js';
import type { WorkerInit } from '../shm/admin.js';
import { largeRecordBufferTrimMs } from '../shm/limits.js';
import { createMetricsBuffer, MetricsGauge, MetricsHistogram, MetricsReader, MetricsWriter } from '../shm/metrics.js';
import { ByteRing } from '../shm/ring.js';
import {
  coreTickIntervalMsMin,
  mainThreadSessionsRingBytes,
  sessionWorkerYoungGenerationMb,
  workerExitGraceMs,
} from './limits.js';
import { SharedStatus } from '../shm/status.js';
import { createIpCountTable } from '../shm/ipcount.js';
import { createConnThrottle } from '../shm/connthrottle.js';
import { createTlsCounters, TlsCounter } from '../shm/tls.js';
import { defaultAuthProviders, x509Provider } from '../common/acl.js';
import { clientTlsInit, watchClientTlsStores } from './client-tls.js';
import type { ServerConfig } from './config.js';
import { isQuietlyAccepted, readMyId } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { Bridge } from './bridge.js';
import { Core } from './core.js';
import { ZkDatabase } from './pipeline/database.js';
import { sessionIdHex } from '../common/ids.js';
import { PurgeScheduler, SyncStage, nodeLogFs, recover, type LogFs, type StorageError } from './storage/index.js';
import { writeSync } from 'node:fs';
import { containersToDelete } from './tree/containers.js';
import { FourLetterWords } from './four-letter.js';
import type { EnsembleDriver } from './driver.js';
import { QuotaLog } from './tree/quota-log.js';
import { SessionSecretTracker } from './sessions/secret.js';
import { startMainHttpApp, type StartedHttpApp } from './admin/http.js';
import { DigestLog } from './admin/digest-log.js';

/** How the workers get their listening sockets (see launcher.ts). */
export type ListenPlan = { mode: 'reusePort' } | { mode: 'fd'; fds: number[]; secureFds: number[] };

export interface RunningServer {
  stop(): Promise<void>;
  readonly logger: Logger;
}

const workerEntryUrl = new URL('../workers/worker.js', import.meta.url);
const workerEntry = fileURLToPath(workerEntryUrl);

/** What src/workers/worker.ts exports for sessionWorkers=0 (sessions served on this thread). */
interface SessionsOnThisThread {
  serveOnThisThread(port: MessagePort, init: WorkerInit): Promise<void>;
}

/** The main side of a session worker's admin messages: its Worker, or (sessionWorkers=0) one end
 *  of a MessageChannel whose other end the worker's code holds on this thread. */
type SessionWorkerPort = Worker | MessagePort;

export async function startServer(cfg: ServerConfig, listen: ListenPlan): Promise<RunningServer> {
  const logger = createLogger(cfg.logLevel, 'zkts');
  for (const key of cfg.ignoredKeys) {
    if (isQuietlyAccepted(key)) logger.info({ key }, 'config key accepted but not used');
    else logger.warn({ key }, 'unknown config key ignored');
  }
  mkdirSync(cfg.dataDir, { recursive: true });
  mkdirSync(cfg.dataLogDir, { recursive: true });

  const quotaLog = new QuotaLog(logger, Date.now);
  const db = new ZkDatabase({
    extendedTypesEnabled: cfg.extendedTypesEnabled,
    juteMaxBufferBytes: cfg.juteMaxBufferBytes,
    onCloseListOmitted: (sessionId, paths, txnBytes) =>
      logger.warn(
        { session: sessionIdHex(BigInt.asUintN(64, sessionId)), paths, txnBytes },
        'session owns more ephemerals than a closeSession txn may list: closed without the list',
      ),
    enforceQuota: cfg.enforceQuota,
    onQuotaExceeded: (note) => quotaLog.exceeded(note),
    // secureClientPort registers X509AuthenticationProvider (the x509 scheme of ACLs).
    ...(cfg.clientTls === null ? {} : { authProviders: new Map([...defaultAuthProviders, ['x509', x509Provider(cfg.clientTls.x509SuperUser)]]) }),
  });
  // The newest valid snapshot plus the log after it; a gap or corruption that is not a torn
  // tail stops start-up here (the error names what is missing).
  const recovered = recover(db, { dataDir: cfg.dataDir, dataLogDir: cfg.dataLogDir, logger });
  // The log replayed over a fuzzy snapshot may count a node twice in a quota's stats: recount.
  db.tree.setupQuotas();
  logger.info(
    { lastZxid: recovered.lastZxid, sessions: recovered.sessions.size, replayed: recovered.replayed },
    'recovered data',
  );
  // The main thread's own figures for the exporter: one row of the workers' layout.
  const mainMetrics = createMetricsBuffer(1);
  const mainMetricsWriter = new MetricsWriter(mainMetrics, 0);
  const stage = new SyncStage({
    dataDir: cfg.dataDir,
    dataLogDir: cfg.dataLogDir,
    db,
    sessions: new Map(recovered.sessions),
    lastZxid: recovered.lastZxid,
    snapCount: cfg.snapCount,
    preAllocBytes: cfg.preAllocBytes,
    logger,
    fs: cfg.forceSync ? nodeLogFs : withoutSync(nodeLogFs),
    // fsynctime, as FileTxnLog.commit: only when it syncs (forceSync).
    ...(cfg.forceSync ? { onFsync: (ms: number) => mainMetricsWriter.record(MetricsHistogram.fsyncUs, ms * 1000) } : {}),
    onFatal: (err: StorageError) => {
      // Fail-stop: the process cannot know what reached the disk, so it replies to nothing
      // more. Written synchronously: an async log transport could lose the line.
      writeSync(2, `zkts: FATAL transaction log failure, stopping: ${err.message}\n`);
      process.exit(1);
    },
  });
  // snapshottime (SyncRequestProcessor times zks.takeSnapshot()): the walk and the write.
  stage.onSnapshot((info) => mainMetricsWriter.record(MetricsHistogram.snapshotUs, (info.walkMs + info.writeMs) * 1000));
  // Ensemble mode: server.N lines are present. The driver (driver.ts) owns Zab, the quorum
  // transport and the log's ordering; the core proposes through it instead of the log stage.
  // Imported only here: a standalone server never loads the ensemble's modules (Zab, the quorum
  // transport, TLS, FlatBuffers: ~4 MB RSS).
  const ensemble = cfg.servers.length > 0;
  const myId = ensemble ? readMyId(cfg.dataDir) : 0;
  const driver: EnsembleDriver | null = ensemble
    ? new (await import('./driver.js')).EnsembleDriver({
        cfg,
        myId,
        db,
        stage,
        logger,
        recoveredZxid: recovered.lastZxid,
        timings: {
          election: (ms) => mainMetricsWriter.record(MetricsHistogram.electionUs, ms * 1000),
          proposal: (ms) => mainMetricsWriter.record(MetricsHistogram.proposalLatencyUs, ms * 1000),
          quorumAck: (ms) => mainMetricsWriter.record(MetricsHistogram.quorumAckLatencyUs, ms * 1000),
          commitPropagation: (ms) => mainMetricsWriter.record(MetricsHistogram.commitPropagationLatencyUs, ms * 1000),
        },
        fatal: (why: string): never => {
          writeSync(2, `zkts: FATAL ensemble driver: ${why}\n`);
          process.exit(1);
        },
      })
    : null;
  const status = new SharedStatus();
  status.lastZxid = db.lastZxid;
  // The session secret: configured, or in the replicated state (sessions/secret.ts). Followed
  // after each applied txn; each change goes to the workers.
  const secret = new SessionSecretTracker(cfg.sessionSecret, db.tree);
  let workers: SessionWorkerPort[] = [];
  let secretKnown: () => void = () => {};
  const secretReady = new Promise<void>((resolve) => {
    secretKnown = resolve;
  });
  if (secret.current !== '') secretKnown();
  // The hash command's history (admin/digest-log.ts): the tree digest every 128 zxids.
  const digests = new DigestLog();
  const onThisThread = listen.mode === 'reusePort' && cfg.sessionWorkers === 0;
  const workerCount = listen.mode === 'fd' ? Math.max(listen.fds.length, listen.secureFds.length) : Math.max(1, cfg.sessionWorkers);
  const ringBytes = onThisThread ? { toMainBytes: mainThreadSessionsRingBytes, toWorkerBytes: mainThreadSessionsRingBytes } : {};
  const descriptors = Array.from({ length: workerCount }, () => createChannelDescriptor(ringBytes));
  const bridge = new Bridge(descriptors, logger);
  const core = new Core({
    db,
    log: stage,
    out: bridge,
    opts: {
      tickTimeMs: cfg.tickTimeMs,
      localSessionsUpgradingEnabled: cfg.localSessionsUpgradingEnabled,
      extendedTypesEnabled: cfg.extendedTypesEnabled,
      juteMaxBufferBytes: cfg.juteMaxBufferBytes,
      serverId: myId,
      sessionSecretConfigured: secret.isConfigured,
    },
    logger,
    now: Date.now,
    onApplied: (zxid) => {
      status.lastZxid = zxid;
      digests.applied(zxid, () => db.tree.treeDigest());
      if (!secret.update(db.tree)) return;
      logger.info('session secret known');
      for (const w of workers) w.postMessage({ type: 'sessionSecret', secret: secret.current });
      secretKnown();
    },
    replication: driver,
    onTouchesSent: (ageMs) => mainMetricsWriter.record(MetricsHistogram.touchLagUs, ageMs * 1000),
  });
  core.restoreSessions(recovered.sessions, db.tree.sessionsWithEphemerals());
  bridge.start(core);
  if (driver === null && core.ensureSessionSecret()) {
    // Standalone, first start: the secret is durable and applied before any worker listens.
    await secretReady;
  }

  const ipCounts = createIpCountTable(cfg.maxClientAddresses);
  const tlsCounters = createTlsCounters();
  const tlsCells = new Int32Array(tlsCounters);
  const connThrottle = createConnThrottle(cfg.connThrottle, performance.timeOrigin + performance.now());
  const metrics = createMetricsBuffer(workerCount);
  /** The workers' published gauges, for mntr's rows that sum them (connection_rejected). */
  const workerGauges = new MetricsReader(metrics, { nowMs: performance.now() });
  const init = (channel: ChannelDescriptor, workerIndex: number): WorkerInit => ({
    workerIndex,
    workerCount,
    serverId: myId,
    channel,
    status: status.buffer,
    ipCounts: ipCounts.buffer,
    connThrottle: connThrottle.buffer,
    metrics,
    listen: cfg.clientPortEnabled
      ? {
          host: cfg.clientPortAddress,
          port: cfg.clientPort,
          backlog: cfg.clientPortListenBacklog,
          ...(listen.mode === 'fd' ? { mode: 'fd', fd: listen.fds[workerIndex]! } : { mode: 'reusePort' }),
        }
      : null,
    secureListen:
      cfg.secureClientPort === null
        ? null
        : {
            host: cfg.secureClientPortAddress,
            port: cfg.secureClientPort,
            backlog: cfg.clientPortListenBacklog,
            ...(listen.mode === 'fd' ? { mode: 'fd', fd: listen.secureFds[workerIndex]! } : { mode: 'reusePort' }),
          },
    tls: clientTlsInit(cfg),
    tlsCounters,
    tickTimeMs: cfg.tickTimeMs,
    minSessionTimeoutMs: cfg.minSessionTimeoutMs,
    maxSessionTimeoutMs: cfg.maxSessionTimeoutMs,
    maxClientCnxns: cfg.maxClientCnxns,
    globalOutstandingLimit: cfg.globalOutstandingLimit,
    juteMaxBufferBytes: cfg.juteMaxBufferBytes,
    localSessionsEnabled: cfg.localSessionsEnabled,
    localSessionsUpgradingEnabled: cfg.localSessionsUpgradingEnabled,
    fourLetterWhitelist: cfg.fourLetterWhitelist,
    sessionSecret: secret.current,
    superDigest: cfg.superDigest,
    logLevel: cfg.logLevel,
    webSocket: cfg.webSocket === null ? null : { ...cfg.webSocket, engine: cfg.httpEngine },
  });
  let sessionsStarted: Promise<void>[];
  let stopSessions: () => Promise<void>;
  if (onThisThread) {
    // sessionWorkers=0: the worker's code serves the sessions in this isolate (no thread, no
    // second heap: ~8 MB less for an idle observer; docs/design-notes.md, "Sessions on the main
    // thread"). It is loaded by URL, as a Worker loads it: src/main never imports src/workers.
    const { port1, port2 } = new MessageChannel();
    const entry = (await import(workerEntryUrl.href)) as SessionsOnThisThread;
    workers = [port1];
    const serving = entry.serveOnThisThread(port2, init(descriptors[0]!, 0));
    // serving resolves once 'listening' is posted, or rejects when the sessions cannot start.
    sessionsStarted = [Promise.all([waitMessage(port1, 'listening'), serving]).then(() => {})];
    stopSessions = async () => {
      const stopped = waitMessage(port1, 'stopped', workerExitGraceMs);
      port1.postMessage({ type: 'stop' });
      await stopped;
      port1.close();
    };
  } else {
    const threads = descriptors.map((channel, workerIndex) => {
      const w = new Worker(workerEntry, {
        resourceLimits: { maxYoungGenerationSizeMb: sessionWorkerYoungGenerationMb },
        workerData: init(channel, workerIndex),
      });
      w.on('error', (e) => {
        // A crashed worker takes the process down: a half-alive server is worse than a restart.
        logger.fatal({ worker: workerIndex, err: e }, 'session worker crashed');
        setImmediate(() => process.exit(1));
      });
      return w;
    });
    workers = threads;
    sessionsStarted = threads.map((w) => waitListening(w));
    stopSessions = async () => {
      for (const w of threads) w.postMessage({ type: 'stop' });
      await Promise.all(threads.map((w) => waitExit(w)));
    };
  }
  const words = new FourLetterWords({
    cfg,
    core,
    workers,
    logger,
    storageMetrics: () => stage.metrics(),
    catchUp: () => bridge.catchUp(-1),
    mode: () => driver?.mode() ?? 'standalone',
    ensembleMetrics: () => driver?.replicationMetrics() ?? {},
    serverId: myId,
    // ZooKeeper's ServerMetrics names: connects let through the throttle, connects it refused,
    // and BLUE's current drop chance.
    // connection_rejected also counts the connections maxClientCnxns refused (ZooKeeper's
    // NIOServerCnxnFactory does), as the workers publish them.
    connectionMetrics: () => ({
      connection_request_count: connThrottle.letThrough,
      connection_rejected: connThrottle.rejected + workerGauges.gaugeSum(MetricsGauge.connectionsRefused),
      connection_drop_probability: connThrottle.dropChance,
      // NettyServerCnxnFactory's: TLS handshakes that failed, timed out or brought a refused
      // certificate (secureClientPort).
      unsuccessful_handshake: Atomics.load(tlsCells, TlsCounter.unsuccessfulHandshakes),
    }),
  });
  words.attach();
  await Promise.all(sessionsStarted);
  if (driver !== null) await driver.start(core);
  status.serving = true;

  // The HTTP face (issue 12): loaded only when configured, so a tier observer with it off pays
  // nothing for it.
  const admin = cfg.admin;
  let adminHttp: StartedHttpApp | null = null;
  if (admin !== null) {
    const [{ mountAdminCommands }, { readInitialConfig }, { mountStatusPage }] = await Promise.all([
      import('./admin/routes.js'),
      import('./admin/commands.js'),
      import('./status-page/mount.js'),
    ]);
    adminHttp = await startMainHttpApp({
      what: 'AdminServer',
      engine: cfg.httpEngine,
      host: admin.host,
      port: admin.port,
      logger,
      mount: (app) => {
        mountAdminCommands(app, {
          commandUrl: admin.commandUrl,
          whitelist: cfg.fourLetterWhitelist,
          serving: () => driver === null || driver.mode() !== 'looking',
          logger,
          sources: {
            cfg,
            words,
            ensemble: driver,
            myId,
            digests,
            initialConfig: readInitialConfig(cfg.source),
            lastZxid: () => db.lastZxid,
            nodeCount: () => db.tree.zkNodeCount,
            storageMetrics: () => stage.metrics(),
          },
        });
        void mountStatusPage(app, { cfg, myId, core, words, driver, logger });
      },
    });
  }
  // The Prometheus exporter (metricsProvider.*): its module and prom-client load only here.
  const metricsHttp =
    cfg.metrics === null
      ? null
      : await (await import('./admin/prometheus.js')).startPrometheus({
          cfg: cfg.metrics,
          engine: cfg.httpEngine,
          logger,
          sources: {
            // The main thread's rows only: the workers' figures come from shared memory.
            monitorRows: async () => words.mainRows(),
            workers: new MetricsReader(metrics, { nowMs: performance.now() }),
            main: new MetricsReader(mainMetrics, { nowMs: performance.now() }),
            rings: descriptors.map((d) => ({ toMain: ByteRing.attach(d.toMain), toWorker: ByteRing.attach(d.toWorker) })),
            connThrottle,
            ipCounts,
            now: () => performance.now(),
            ensemble: driver !== null,
          },
        });

  const stopCertReload =
    cfg.clientTls?.certReload === true
      ? watchClientTlsStores(cfg.clientTls, logger, (keys) => {
          for (const w of workers) w.postMessage({ type: 'tlsReload', keys });
        })
      : null;
  const tick = setInterval(() => core.tick(), Math.max(coreTickIntervalMsMin, Math.floor(cfg.tickTimeMs / 2)));
  const bufferTrim = setInterval(() => bridge.releaseIdleBuffers(), largeRecordBufferTrimMs);
  const reaper = setInterval(() => {
    core.reapContainers(containersToDelete(db.tree, Date.now()));
  }, cfg.containerCheckIntervalMs);
  logger.info(
    { port: cfg.clientPortEnabled ? cfg.clientPort : null, securePort: cfg.secureClientPort, address: cfg.clientPortAddress, workers: workerCount, dataDir: cfg.dataDir },
    'zkts serving',
  );
  // As ZooKeeperServer does after loading: a snapshot of what was recovered, so the next start
  // replays less; then the periodic purge (DatadirCleanupManager).
  void stage.snapshot().catch((e: unknown) => logger.warn({ err: e }, 'start-up snapshot failed'));
  const purger = new PurgeScheduler({
    dataDir: cfg.dataDir,
    dataLogDir: cfg.dataLogDir,
    snapRetainCount: cfg.snapRetainCount,
    purgeIntervalHours: cfg.purgeIntervalHours,
    logger,
  });
  purger.start();

  return {
    logger,
    async stop() {
      stopCertReload?.();
      clearInterval(tick);
      clearInterval(bufferTrim);
      clearInterval(reaper);
      await adminHttp?.app.close();
      await metricsHttp?.close();
      if (driver !== null) await driver.stop();
      await stopSessions();
      bridge.stop();
      await purger.stop();
      await stage.close();
    },
  };
}

function waitListening(w: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string }): void => {
      if (m?.type !== 'listening') return;
      w.off('message', onMessage);
      resolve();
    };
    w.on('message', onMessage);
    w.once('exit', (code) => reject(new Error(`session worker exited with ${code} before listening`)));
  });
}

/** The next message of `type` on port; with timeoutMs, also resolves when that passes. */
function waitMessage(port: MessagePort, type: string, timeoutMs?: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      port.off('message', onMessage);
      resolve();
    }
    function onMessage(m: { type?: string }): void {
      if (m?.type === type) done();
    }
    port.on('message', onMessage);
  });
}

function waitExit(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void w.terminate().then(() => resolve()), workerExitGraceMs);
    w.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** forceSync=no: the log is written but never fsynced (ZooKeeper's zookeeper.forceSync=no). */
function withoutSync(fs: LogFs): LogFs {
  return {
    ...fs,
    fdatasync: (_fd, cb) => cb(null),
    fsync: (_fd, cb) => cb(null),
  };
}
