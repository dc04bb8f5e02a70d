// Every bound of the quorum network (codec, framing, transport), named with its unit last;
// relations between them are asserted when the module loads.

import * as buffer from 'node:buffer';
import { assert } from '../../common/assert.js';
import { authIdCharsMax, forwardAuthIdsMax } from '../../common/limits.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// ---- codec ----------------------------------------------------------------------------------

/** Longest cluster name in a Hello. */
export const clusterBytesMax = 256;

/** Largest Hello nonce or mac (an HMAC-SHA256 is 32 bytes). */
export const helloFieldBytesMax = 64;

/** REQUEST auth ids (a session's addauth ids, bounded by the worker: common/limits) per message,
 *  and UTF-8 bytes per scheme or id (an id of authIdCharsMax UTF-16 units takes at most 3 bytes
 *  a unit). */
export const authIdsMax = forwardAuthIdsMax;
export const authStringBytesMax = 3 * authIdCharsMax;

/** Sessions per TOUCH message: a learner splits a longer list. */
export const touchSessionsMax = 1 << 20;

/** Cached PROPOSAL / INFORM frame templates per body type; past it the cache starts over (payload
 *  lengths of a workload cluster). */
export const payloadTemplatesMax = 512;

// ---- transport --------------------------------------------------------------------------------

/** Redial delay after a lost connection: starts at the min, backs off to the max. */
export const reconnectDelayMsMin = 50;
export const reconnectDelayMsMax = 2_000;

/** Largest frame by default (quorumFrameBytesMax raises it with jute.maxbuffer). */
export const frameBytesMaxDefault = 64 * MiB;
/** Largest frame whatever jute.maxbuffer says: what a FlatBuffers builder can hold (2 GiB), less
 *  room for the tables around the payload. */
export const frameBytesCeiling = 2 * GiB - MiB;

/** quorumFrameBytesMax: room in a frame beside two client packets (a REQUEST's auth ids, the
 *  tables around a PROPOSAL's txn). */
export const frameSlackBytes = MiB;

/** Bytes queued to one peer before the connection is dropped, by default. */
export const sendQueueBytesMaxDefault = 128 * MiB;

/** A connection whose handshake has not completed in this long is closed, by default. */
export const handshakeTimeoutMsDefault = 5_000;

/** Largest SNAP by default: 4 GiB, or what one Buffer can hold if less. */
export const snapBytesMaxDefault = Math.min(buffer.constants.MAX_LENGTH, 4 * GiB);

/** A SNAP goes out in chunks of this size by default (less where frames are smaller)... */
export const snapChunkBytesDefault = 16 * MiB;
/** ...with this much room in a frame for the Frame/SnapChunk tables around the chunk's bytes. */
export const chunkFrameOverheadBytes = 1024;

/** Largest frame a connection may send before its handshake completes (a Hello is ~100 bytes). */
export const handshakeFrameBytesMax = 1024;
/** A Hello's table, ids and offsets around its cluster name, nonce and mac fit in this. */
export const helloOverheadBytesMax = 128;

/** Inbound connections in their handshake at once; more are closed as they are accepted. */
export const handshakesInboundMax = 64;

/** TCP keep-alive probe delay on quorum sockets. */
export const socketKeepAliveMs = 10_000;

assert(
  handshakeFrameBytesMax >= clusterBytesMax + 2 * helloFieldBytesMax + helloOverheadBytesMax,
  'the largest Hello fits a handshake frame',
);
assert(handshakeFrameBytesMax <= frameBytesMaxDefault, 'a handshake frame is a frame');
assert(frameBytesMaxDefault <= frameBytesCeiling && frameBytesCeiling < 2 * GiB, 'the frame ceiling is above the default and under 2 GiB');
assert(snapChunkBytesDefault + chunkFrameOverheadBytes <= frameBytesMaxDefault, 'a default SNAP chunk fits a default frame');
assert(reconnectDelayMsMin > 0 && reconnectDelayMsMin <= reconnectDelayMsMax, 'reconnect delays: 0 < min <= max');
assert(frameBytesMaxDefault <= sendQueueBytesMaxDefault, 'a send queue holds one largest frame');
