// Every bound of a session worker, named with its unit last. Relations between them (and with the
// ring's bounds in src/shm/limits.ts) are asserted when the module loads. One export (with its
// comment) per group: add new ones at the end, before the asserts.

import { assert } from '../common/assert.js';
import { juteBufferBytesMaxDefault } from '../protocol/limits.js';
import { recordBytesMax } from '../shm/limits.js';
import { requestHeaderBytes } from '../shm/records.js';

const MiB = 1024 * 1024;

/** Sessions one worker's table holds. */
export const sessionsPerWorkerMax = 1 << 20;

/** Requests one session may have at the main thread before its socket stops being read,
 *  whatever the server-wide total (globalOutstandingLimit) says: bounds one session's FIFO. */
export const sessionRequestsOutstandingMax = 1000;

/** Output queued in a socket above which it stops being read until it drains. */
export const connOutputPauseBytes = 1 * MiB;

/** Output queued in a socket above which the client is dropped as too slow. */
export const connOutputBytesMax = 64 * MiB;

/** Output queued in this worker's stalled sockets (each above connOutputPauseBytes: its client
 *  is not reading) above which the one holding the most is closed, so many slow clients
 *  together cannot hold more than this either. */
export const workerStalledOutputBytesMax = 128 * MiB;

/** Records queued outside a full worker → main ring above which sockets stop being read. */
export const ringOutboxBytesMax = 8 * MiB;

/** At most one "throttling reads" log line per this many milliseconds. */
export const throttleLogIntervalMs = 10_000;

/** A worker's index and the server id each take one byte of a session id (handshake.ts). */
export const workerIndexMax = 255;
export const workerCountMax = workerIndexMax + 1;
export const serverIdMax = 255;

/** WorkerInit bounds checked before a worker starts (worker.ts). */
export const tickTimeMsMax = 3_600_000;
export const globalOutstandingLimitMax = 1 << 30;
export const juteMaxBufferBytesMin = 1024;

/** ZooKeeper's sessionlessCnxnTimeout: a connection without a session is closed after this. */
export const sessionlessConnectionTimeoutMs = 10_000;

/** At most one "address table full" warning per this many milliseconds (per worker). */
export const tableFullLogMs = 10_000;

/** Session ids permuted at once: one AES call per Feistel round for the whole batch. */
export const sessionIdBatchCount = 64;

/** The request FIFO compacts its array once this many consumed entries lead it (and they are at
 *  least half of it). */
export const fifoCompactEntriesMin = 256;

/** Output memory is reserved in chunks of this size by default (conn.ts OutSlab). */
export const outSlabChunkBytesDefault = 64 * 1024;

/** At most one "connection throttle refused connects" warning per this many milliseconds,
 *  server-wide (the count lives in the shared throttle, src/shm/connthrottle.ts). */
export const connThrottleLogIntervalMs = 10_000;

assert(
  connOutputPauseBytes < connOutputBytesMax && connOutputBytesMax <= workerStalledOutputBytesMax,
  'worker limits: output bounds out of order',
);
// The rings carry any legal request and any deliverable reply (in fragments past half a ring):
// a request of jute.maxbuffer's default crosses, and the largest reply record still fits under
// the output bound that would drop its client as too slow.
assert(
  recordBytesMax >= requestHeaderBytes + juteBufferBytesMaxDefault,
  'worker limits: a ring record holds a request of jute.maxbuffer',
);
assert(
  connOutputBytesMax >= recordBytesMax + connOutputPauseBytes,
  'worker limits: a socket queues the largest reply record',
);
assert(workerIndexMax <= 0xff && serverIdMax <= 0xff, 'a worker index and a server id fit a byte of the session id');
assert(workerCountMax === workerIndexMax + 1, 'every worker index is usable');
assert(sessionlessConnectionTimeoutMs > 0 && tableFullLogMs > 0 && connThrottleLogIntervalMs > 0, 'periods are positive');
assert(sessionIdBatchCount > 0 && fifoCompactEntriesMin > 0 && outSlabChunkBytesDefault > 0, 'sizes are positive');

// ---- connects (issue 11 goal 3) ----------------------------------------------------------------

/** Records the main thread need not act on at once (the attach of a new local session) wake it
 *  at most this long after they were published: one wake-up for a burst of connects. */
export const quietWakeDelayMs = 10;
assert(quietWakeDelayMs >= 1 && quietWakeDelayMs < sessionlessConnectionTimeoutMs, 'a quiet record wakes the main thread soon');

// ---- the exporter's worker figures (issue 12, src/shm/metrics.ts) ------------------------------

/** A worker publishes its gauges (sessions, connections, watches) at most this often: counting
 *  open connections walks them all. */
export const metricsGaugeIntervalMs = 1000;
assert(metricsGaugeIntervalMs > 0, 'the metrics gauges are refreshed');

// ---- the WebSocket client transport (issue 12 item 4, ws-transport.ts) ------------------------

/** Bytes of a WebSocket connection's messages held while its reading is paused (throttled,
 *  output backed up, handshake in flight). uWS cannot stop reading one WebSocket, so what the
 *  client sends meanwhile is held here; a message that arrives with this much held closes the
 *  connection (one message is always taken, so a frame of any allowed length gets through). */
export const wsPausedInputBytesMax = 4 * MiB;
/** Bytes held that way by all of a worker's WebSocket connections together: past it, a paused
 *  connection that sends more is closed (as connections that do not read are, past
 *  workerStalledOutputBytesMax). */
export const wsHeldInputBytesWorkerMax = 64 * MiB;
assert(wsPausedInputBytesMax >= juteBufferBytesMaxDefault, 'a paused WebSocket holds a default jute frame');
assert(wsHeldInputBytesWorkerMax >= 4 * wsPausedInputBytesMax, 'a worker holds several paused WebSockets');

/** A TLS handshake on secureClientPort that has not finished by then closes its connection
 *  (Netty's SslHandler default handshake timeout, which ZooKeeper's NettyServerCnxnFactory uses). */
export const clientTlsHandshakeTimeoutMs = 10_000;
/** At most one log line per this period for failed TLS handshakes (each is counted; the line says
 *  how many since the last one), so a scan of the port cannot flood the log. */
export const tlsFailureLogIntervalMs = 10_000;
assert(clientTlsHandshakeTimeoutMs > 0 && clientTlsHandshakeTimeoutMs <= sessionlessConnectionTimeoutMs, 'a TLS handshake is bounded like a sessionless connection');
assert(tlsFailureLogIntervalMs > 0, 'periods are positive');
