// Bounds of the main thread's process wiring (server.ts, launcher.ts, bridge.ts), named with
// their unit last; relations asserted at load. Each stage keeps its own limits module beside it:
// pipeline/, storage/, net/, zab/, ensemble/.

import { assert } from '../common/assert.js';

/** The core's session-expiry tick runs every tickTime / 2, but never more often than this. */
export const coreTickIntervalMsMin = 10;

/** A session worker that has not exited this long after it was asked to stop is terminated. */
export const workerExitGraceMs = 2000;

/**
 * The client port's listen backlog when clientPortListenBacklog is not set: as deep as the kernel
 * allows. Linux cuts a larger backlog to net.core.somaxconn (4096 by default since Linux 5.4, and
 * on this machine), so this asks for that cap. A herd of thousands of clients reconnecting at once
 * must not find the accept queue full: a connection that completes its handshake into a full queue
 * is dropped (ListenOverflows) and its client waits out a SYN-ACK retransmission, a second or
 * more. ZooKeeper leaves it to the JVM's default, 50.
 */
export const clientListenBacklogDefault = 65535;
/** clientPortListenBacklog's largest value (the kernel's own bound on somaxconn). */
export const clientListenBacklogMax = 2 ** 31 - 1;

/** Records queued for a worker outside its full ring above which its requests are not read
 *  (bridge.ts: Channel.holdPump). */
export const toWorkerOutboxHoldBytes = 16 << 20;

/** At most one hold warning per worker per this many milliseconds (holds can come fast). */
export const holdLogIntervalMs = 10_000;
/** V8's --semi-space-growth-factor under youngGenerationFixed=true: the young generation keeps
 *  its initial size (V8 grows it by 2x per step, up to 16 MB per semi-space, by default). */
export const youngGenerationGrowthFactorFixed = 1;

// ---- session-worker heap (issue 11, sessions at the Node floor)

/**
 * A session worker's V8 young generation (Worker resourceLimits.maxYoungGenerationSizeMb: two
 * semi-spaces and the new large-object space, a third each). V8 grows a young generation to its
 * default maximum (16 MiB semi-spaces, 32 MiB resident) once the objects that survive scavenges
 * add up to its size, which a worker's ramp of long-lived connection objects always does; after
 * that the pings' short-lived garbage keeps it there. Per worker, that was 28 MiB of RSS that holds
 * no session: 2.9 KiB of every held session at 10,000 sessions on two workers. Small semi-spaces
 * cost more scavenges, each cheap, as little survives a ping.
 */
export const sessionWorkerYoungGenerationMb = 6;

/**
 * Each channel ring's bytes with sessionWorkers=0 (the sessions served on the main thread). A
 * ring's pages become resident as its cursors wrap, so after enough traffic a ring holds RSS for
 * its whole size (the default, shm/limits.ts channelRingBytesDefault, is 4 MiB: 8 MiB for the
 * pair). With one thread at both ends a record waits only until that thread's next turn, so a
 * smaller ring suffices; a record over half of it crosses in fragments, what does not fit waits
 * in the outbox, as with a worker thread.
 */
export const mainThreadSessionsRingBytes = 1 << 20;

assert(coreTickIntervalMsMin > 0 && workerExitGraceMs > 0 && holdLogIntervalMs > 0, 'main limits: periods are positive');
assert(clientListenBacklogDefault > 0 && clientListenBacklogDefault <= clientListenBacklogMax && toWorkerOutboxHoldBytes > 0, 'main limits: sizes are positive');
assert(
  mainThreadSessionsRingBytes >= 1 << 16 && (mainThreadSessionsRingBytes & (mainThreadSessionsRingBytes - 1)) === 0,
  'main limits: a ring is a power of two, large enough for a burst of handshakes',
);
assert(sessionWorkerYoungGenerationMb >= 3, 'main limits: a young generation holds a semi-space of 1 MiB at least');

// ---- the Prometheus exporter (admin/prometheus.ts, issue 12)

/** Where the exporter serves the exposition, as ZooKeeper's PrometheusMetricsProvider. */
export const metricsPath = '/metrics';
/** A scrape waits this long for the mntr rows (every worker's stats); then the last rows are
 *  served: a scrape answers within Prometheus's default scrape_timeout (10 s). */
export const metricsRowsTimeoutMs = 5000;
/** A latency summary's quantiles: ZooKeeper's ADVANCED summaries (0.5, 0.9, 0.99). */
export const prometheusQuantiles: readonly number[] = [0.5, 0.9, 0.99];
/** The quantiles of ZooKeeper's BASIC summaries (fsynctime, snapshottime, election_time): the
 *  median only, as PrometheusMetricsProvider 3.8 builds them. */
export const prometheusBasicQuantiles: readonly number[] = [0.5];
assert(prometheusQuantiles.every((q, i) => q > 0 && q < 1 && (i === 0 || q > prometheusQuantiles[i - 1]!)), 'main limits: quantiles ascend in (0, 1)');

/** client.certReload: how long the key and trust store files must be quiet after a change before
 *  they are read again (an editor or `cp` writes a file in several steps; ZooKeeper's
 *  FileChangeWatcher reloads on every event). */
export const certReloadQuietMs = 200;
assert(certReloadQuietMs > 0 && certReloadQuietMs < 10_000, 'main limits: a reload follows a change within seconds');
