// Bounds of the live status page (src/main/status-page), named with their unit last; relations
// asserted at load.

import { assert } from '../../common/assert.js';
import { wsMessageBytesMax } from '../../http/limits.js';

/** A snapshot goes to the connected pages this often; nothing is gathered while none is. */
export const statusPushIntervalMs = 1000;

/** Pages connected at once; the next one is closed with 1013 (try again later). */
export const statusViewersMax = 32;

/** A page whose socket holds more than this unsent is skipped until it drains, so a slow viewer
 *  never makes the server buffer without end (a snapshot is a few KB). */
export const statusViewerBufferedBytesMax = 1 << 20;

/** The page sends nothing: a message from it is bad input, and one larger than this is cut off
 *  by the engine (1009) before it is read. */
export const statusViewerMessageBytesMax = 1024;

/** How long a snapshot waits for the session workers' statistics before it shows the last ones
 *  (marked stale): a worker busy with a burst must not stall every page. */
export const statusWorkerStatsWaitMs = 2000;

/** How long a four-letter word to another member may take, connect to close. */
export const statusPeerProbeTimeoutMs = 2000;

/** A member's four-letter answer longer than this is cut off (mntr is about 2 KB). */
export const statusPeerReplyBytesMax = 64 << 10;

/** Rates (ops/s) are computed over at least this long; a snapshot asked for sooner (a new page,
 *  GET /status/snapshot) shows the last rate. */
export const statusRateWindowMsMin = 500;

assert(statusPushIntervalMs >= 100 && statusViewersMax >= 1, 'status page: a sane push period and viewer count');
assert(statusViewerMessageBytesMax < wsMessageBytesMax, "status page: the viewer's message bound is within the engine's");
assert(statusRateWindowMsMin <= statusPushIntervalMs, 'status page: each push can compute a fresh rate');
assert(statusPeerReplyBytesMax >= 4096, "status page: room for a member's whole mntr");
