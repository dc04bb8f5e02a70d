// Every bound of the load harness (cli, worker pool, worker processes), named with its unit last;
// relations between them are asserted when the module loads.

import { assert } from '../common/assert.js';

// ---- workers and sessions ---------------------------------------------------------------------

/** Sessions one worker process holds at most by default (the per-process open-file limit here is
 *  ~20000)... */
export const sessionsPerWorkerDefault = 15_000;
/** ...and at most whatever --per-worker says (a process may open ~19,900 files here). */
export const sessionsPerWorkerMax = 19_000;
/** Without --workers, one worker per this many sessions (up to half the CPUs). */
export const sessionsPerWorkerByLoad = 1_000;
/** Worker processes in one run. */
export const workersMax = 64;
/** --source-addrs may name this many local addresses. */
export const sourceAddrsMax = 65_536;

/** A worker that has not said 'ready' in this long fails the run, by default. */
export const workerStartTimeoutMsDefault = 15_000;
/** How long the pool waits for its workers to exit after a run, and after a failed one. */
export const poolShutdownGraceMs = 5_000;
export const poolShutdownGraceMsOnError = 3_000;

// ---- options a run may set --------------------------------------------------------------------

export const sessionTimeoutMsDefault = 30_000;
export const sessionTimeoutMsMin = 100;
export const sessionTimeoutMsMax = 3_600_000;
/** --timeout: the whole run's hard limit, in seconds. */
export const runTimeoutSDefault = 600;
export const runTimeoutSMax = 86_400;

// ---- worker process ---------------------------------------------------------------------------

/** Distinct error kinds (and disconnect reasons) one worker counts; later ones are dropped. */
export const errorKindsMax = 20;
/** A disconnect reason is cut to this many characters before it is counted. */
export const disconnectReasonCharsMax = 120;
/** The harness's clients: delay before a retry, and jitter on a reconnect. */
export const clientRetryDelayMs = 200;
export const clientReconnectJitterMs = 200;
/** A worker's shutdown: each client's close waits this long, the whole shutdown this long. */
export const clientCloseTimeoutMs = 1_000;
export const workerExitHardMs = 3_000;
/** Counters and histograms go to the parent this often. */
export const workerFlushIntervalMs = 250;

assert(sessionsPerWorkerDefault <= sessionsPerWorkerMax, 'the default per-worker sessions are allowed');
assert(sessionsPerWorkerByLoad <= sessionsPerWorkerDefault, 'the auto worker count never needs more than the default per worker');
assert(sessionTimeoutMsMin <= sessionTimeoutMsDefault && sessionTimeoutMsDefault <= sessionTimeoutMsMax, 'the default session timeout is in range');
assert(runTimeoutSDefault <= runTimeoutSMax, 'the default run timeout is in range');
assert(clientCloseTimeoutMs < workerExitHardMs, 'clients close before the hard exit');
assert(workerExitHardMs <= poolShutdownGraceMsOnError && poolShutdownGraceMsOnError <= poolShutdownGraceMs, 'a worker exits within the pool\'s grace');
