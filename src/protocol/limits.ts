// Bounds of the ZooKeeper wire protocol (jute), named with their unit last; relations asserted
// at load. What a server or client makes of them (per-request, per-session bounds) lives in
// common/limits.ts and each thread's own limits module.

import { assert } from '../common/assert.js';

/** jute.maxbuffer's default: the largest buffer / string (and so request) ZooKeeper accepts. */
export const juteMaxBufferBytesDefault = 0xfffff;
/** The slack BinaryInputArchive allows on top of jute.maxbuffer when it checks a length. */
export const juteBufferSlackBytes = 1024;
/** A JuteReader's bufferBytesMax by default: jute.maxbuffer's default plus the slack. */
export const juteBufferBytesMaxDefault = juteMaxBufferBytesDefault + juteBufferSlackBytes;

assert(juteBufferBytesMaxDefault < 2 ** 31, 'a jute length is an int');
