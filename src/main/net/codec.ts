// Quorum codec: the Zab core's plain messages (src/main/zab/messages.ts) to and from FlatBuffers
// frames (schemas/quorum.fbs, generated code under ./generated/). One Frame per TCP frame: the
// transport adds the u32 big-endian length prefix (encodeMessageFrame does both at once).
//
// Numbers travel as int64 and come back as JS numbers: anything outside the safe-integer range
// is refused on both sides (zxids fit while the epoch stays below 2^21, see common/ids.ts).
// The npm FlatBuffers runtime has no verifier and reads past the end of a buffer as zeros, so
// decode checks every table, vector and string it touches against the buffer's bounds itself:
// a malformed frame is a QuorumCodecError, never a wrong message and never another exception.
//
// The module importers use; the codec lives in ./codec/: types.ts (the messages and frames it
// carries, its constants and error), encode.ts and decode.ts (one case per message each).

export * from './codec/types.js';
export { encodeHello, encodeHelloFrame, encodeMessage, encodeMessageFrame, encodeSnapChunkFrame } from './codec/encode.js';
export { decodeForwardMessage, decodeFrame, decodeMessage } from './codec/decode.js';
