// Bounds of the main thread's process wiring (server.ts, launcher.ts, bridge.ts), named with
// their unit last; relations asserted at load. Each stage keeps its own limits module beside it:
// pipeline/, storage/, net/, zab/, ensemble/.

import { assert } from '../common/assert.js';

/** The core's session-expiry tick runs every tickTime / 2, but never more often than this. */
export const coreTickIntervalMsMin = 10;

/** A session worker that has not exited this long after it was asked to stop is terminated. */
export const workerExitGraceMs = 2000;

/** The client port's listen backlog (launcher.ts binds it before the server process starts, or
 *  each session worker binds its own socket with it). */
export const clientListenBacklog = 1024;

/** Records queued for a worker outside its full ring above which its requests are not read
 *  (bridge.ts: Channel.holdPump). */
export const toWorkerOutboxHoldBytes = 16 << 20;

/** At most one hold warning per worker per this many milliseconds (holds can come fast). */
export const holdLogIntervalMs = 10_000;

assert(coreTickIntervalMsMin > 0 && workerExitGraceMs > 0 && holdLogIntervalMs > 0, 'main limits: periods are positive');
assert(clientListenBacklog > 0 && toWorkerOutboxHoldBytes > 0, 'main limits: sizes are positive');
