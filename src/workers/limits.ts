// Every bound of a session worker, named with its unit last. Relations between them (and with the
// ring's bounds in src/shm/limits.ts) are asserted when the module loads.

import { assert } from '../common/assert.js';
import { JUTE_BUFFER_BYTES_MAX_DEFAULT } from '../protocol/jute/index.js';
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

assert(
  connOutputPauseBytes < connOutputBytesMax && connOutputBytesMax <= workerStalledOutputBytesMax,
  'worker limits: output bounds out of order',
);
// The rings carry any legal request and any deliverable reply (in fragments past half a ring):
// a request of jute.maxbuffer's default crosses, and the largest reply record still fits under
// the output bound that would drop its client as too slow.
assert(
  recordBytesMax >= requestHeaderBytes + JUTE_BUFFER_BYTES_MAX_DEFAULT,
  'worker limits: a ring record holds a request of jute.maxbuffer',
);
assert(
  connOutputBytesMax >= recordBytesMax + connOutputPauseBytes,
  'worker limits: a socket queues the largest reply record',
);
