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

/** Linux's USER_HZ (getconf CLK_TCK): /proc/<pid>/stat counts CPU time in these ticks. */
export const procClockTicksPerS = 100;

// ---- the plain-Node floor server and the lean raw-socket client (issue 11) ---------------------

/** The floor server drops a connection whose frame says more than this: a ConnectRequest is ~50
 *  bytes and a ping 8, and the floor answers nothing else. */
export const floorFrameBytesMax = 1_024;
/** The floor's ConnectResponse password length, as ZooKeeper's (16 random bytes per session). */
export const sessionPasswdBytes = 16;
/** The floor server's listen backlog (this machine's somaxconn is 4096). */
export const floorListenBacklog = 4_096;
/** The lean client reads a reply frame of at most this (a ConnectResponse is 40 bytes, a ping's
 *  ReplyHeader 16): anything larger is a protocol error, not a buffer to grow. */
export const leanFrameBytesMax = 1_024;
/** The one buffer every lean socket reads into (node:net onread): a read takes at most this. */
export const leanReadBufferBytes = 65_536;
/** The lean client's ping scheduler ticks this often: each tick pings the slice of sessions due,
 *  so there is one timer for all sessions, none per session. */
export const leanPingTickMs = 20;
/** A lean client holds at most this many sessions (one process: the open-file cap is 20,000). */
export const leanSessionsMax = sessionsPerWorkerMax;
/** Connects in flight at most. */
export const leanConnectsInFlightMax = 1_024;
/** While a connect or close job runs, attempts older than their timeout are failed (or retried)
 *  by one sweep this often. */
export const leanSweepMs = 100;
/** A refused, shed (closed by the server) or timed-out connect attempt is retried after a backoff
 *  that starts here and doubles per attempt up to the max, times a jitter of 0.5..1.5: a shed
 *  client comes back fast, never after a 30 s timeout. */
export const leanRetryBackoffMsMin = 5;
export const leanRetryBackoffMsMax = 250;
/** One connect attempt of a herd's re-attach gives up after this long (then retries): past the
 *  kernel's first SYN retransmission (1 s; the next comes 2 s later), short of a timeout, and long
 *  enough that a server merely slow to answer is not asked twice (each retry is work for it). */
export const leanReattachAttemptMs = 2_000;
/** The xid of the lean client's closeSession request (its only request besides pings). */
export const leanCloseXid = 1;
/** The lean client pings each held session this many times per session timeout unless told
 *  otherwise (the Java and zkts clients ping after a third of the timeout idle). */
export const leanPingsPerSessionTimeout = 3;

assert(sessionsPerWorkerDefault <= sessionsPerWorkerMax, 'the default per-worker sessions are allowed');
assert(sessionsPerWorkerByLoad <= sessionsPerWorkerDefault, 'the auto worker count never needs more than the default per worker');
assert(sessionTimeoutMsMin <= sessionTimeoutMsDefault && sessionTimeoutMsDefault <= sessionTimeoutMsMax, 'the default session timeout is in range');
assert(runTimeoutSDefault <= runTimeoutSMax, 'the default run timeout is in range');
assert(clientCloseTimeoutMs < workerExitHardMs, 'clients close before the hard exit');
assert(workerExitHardMs <= poolShutdownGraceMsOnError && poolShutdownGraceMsOnError <= poolShutdownGraceMs, 'a worker exits within the pool\'s grace');
assert(floorFrameBytesMax >= 64 && leanFrameBytesMax >= 64, 'a ConnectRequest / ConnectResponse fits a floor or lean frame');
assert(leanReadBufferBytes >= leanFrameBytesMax + 4, 'a whole frame fits one read');
assert(leanPingTickMs > 0 && leanPingTickMs < 1_000, 'the lean ping tick is a fraction of a second');
assert(leanConnectsInFlightMax <= leanSessionsMax, 'connects in flight are bounded by the sessions');
assert(leanSweepMs > 0 && leanSweepMs < 1_000, 'the connect-timeout sweep runs several times a second');
assert(0 < leanRetryBackoffMsMin && leanRetryBackoffMsMin < leanRetryBackoffMsMax && leanRetryBackoffMsMax < leanReattachAttemptMs, 'a retry backoff is shorter than one attempt');
assert(leanSweepMs < leanReattachAttemptMs, 'an attempt timeout is seen by several sweeps');
