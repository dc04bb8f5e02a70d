// Bounds of the HTTP and WebSocket face (src/http), named with their unit last; relations
// asserted at load.

import { assert } from '../common/assert.js';

/** No admin or metrics route reads a body: node:http drains and drops one up to this many bytes,
 *  and cuts the connection past it (uWS drops a body no handler reads, without buffering it). */
export const httpRequestBodyBytesMax = 64 << 10;

/** A WebSocket message larger than this closes its socket (node: 1009, message too big; uWS drops
 *  the connection, 1006 at the peer). The client
 *  transport's frames are bounded by jute.maxbuffer first; this is the ceiling for any route. */
export const wsMessageBytesMax = 64 << 20;

/** A WebSocket that sends nothing (not even a pong) this long is closed. uWS takes whole
 *  seconds, at least 8; ZooKeeper's own session timeout is the real liveness check. */
export const wsIdleTimeoutS = 120;

/** Bytes queued on one WebSocket above which its sends report backpressure. */
export const wsBackpressureBytes = 4 << 20;

/** How long close() waits for the node:http server's open connections before it cuts them. */
export const httpCloseGraceMs = 1000;

assert(httpRequestBodyBytesMax < wsMessageBytesMax, 'an HTTP body bound below the WebSocket message bound');
assert(wsIdleTimeoutS >= 8, 'uWS needs an idle timeout of at least 8 s');
assert(wsBackpressureBytes >= 1 << 20, 'backpressure must allow a maximal default jute frame (1 MiB)');
