// Every bound and default timeout the client uses, named with its unit last, with ZooKeeper's
// client defaults (ClientCnxn / ZooKeeper.java) where it has one. Relations between them are
// asserted when the module loads.

import { assert } from '../common/assert.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The port a connect string's host without one gets (ZooKeeper's client port). */
export const portDefault = 2181;
export const portMax = 65535;

/** Requested session timeout when ClientOptions.sessionTimeoutMs is not given. */
export const sessionTimeoutMsDefault = 30000;
/** Pause after every host has been tried without success. */
export const retryDelayMsDefault = 1000;
/** Random pause of 0..this before each reconnect attempt. */
export const reconnectJitterMsDefault = 1000;
/** How long close() waits for the closeSession reply, by default. */
export const closeWaitMsDefault = 2000;
/** ClientCnxn's MAX_SEND_PING_INTERVAL. */
export const pingIntervalMsMax = 10000;

/** Largest reply frame accepted, by default. */
export const frameBytesMaxDefault = 4 * MiB;
/** The reply reader's own buffer bound: none (0x7fffffff), as the connection's frameBytesMax
 *  check has bounded every frame before it is decoded. */
export const frameBytesUnbounded = 0x7fffffff;
/** ClientCnxn's SET_WATCHES_MAX_LENGTH: path characters per SetWatches packet. */
export const setWatchesCharsMax = 128 * KiB;
/** A writer that grew past this is replaced after its flush, so one big write does not pin it. */
export const writerKeepBytes = 64 * KiB;
export const writerInitialBytes = 256;

/** Xids count up from 1 and wrap back to 1 after this (a positive int32; negative xids are
 *  reserved: see Xid in src/common/zk.ts). */
export const xidMax = 0x7fffffff;
/** A session password's length (ZooKeeper's is 16 bytes). */
export const passwordBytes = 16;

/** A Deque's smallest ring (a power of two). */
export const dequeCapacityMin = 8;
/** Auth packets in flight at once, usually: the auth queue's initial capacity. */
export const authInFlightInitial = 2;

assert(writerInitialBytes <= writerKeepBytes, 'a fresh writer must be one that is kept');
assert(frameBytesMaxDefault <= frameBytesUnbounded, 'the reader takes any frame the connection accepts');
assert(setWatchesCharsMax < frameBytesMaxDefault, 'a SetWatches packet must fit in a frame');
assert(retryDelayMsDefault > 0 && reconnectJitterMsDefault >= 0, 'retry pauses are not negative');
assert(pingIntervalMsMax < sessionTimeoutMsDefault, 'pings come well within the session timeout');
assert((dequeCapacityMin & (dequeCapacityMin - 1)) === 0, 'a Deque ring is a power of two');
assert(xidMax > 0 && xidMax <= 2 ** 31 - 1, 'xids are positive int32s');
