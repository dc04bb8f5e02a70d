// The jute codec: reader, writer, and the ZooKeeper records on top of them. The records
// (records/, one file per family: session, data, acl, watches, multi, txns, and the request and
// response dispatch by opcode) encode and decode the zookeeper.jute records of ../types.ts in both
// directions: the server decodes requests and encodes responses, the zkts client and load harness
// do the reverse, and the txn log / Zab use the txn records. Field order follows zookeeper.jute
// (3.8); multi framing follows MultiOperationRecord / MultiResponse.
export * from './reader.js';
export * from './writer.js';
export { decodeACL, decodeACLs, decodeId, encodeACL, encodeACLs, encodeId } from './records/acl.js';
export { STAT_BYTES, decodeStat, encodeStat } from './records/data.js';
export { decodeMultiHeader, encodeMultiHeader } from './records/multi.js';
export { decodeRequest, encodeRequest } from './records/requests.js';
export { decodeResponse, encodeResponse } from './records/responses.js';
export {
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReplyHeader,
  decodeRequestHeader,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeReplyHeader,
  encodeRequestHeader,
} from './records/session.js';
export { decodeTxn, decodeTxnHeader, encodeTxn, encodeTxnHeader } from './records/txns.js';
export { decodeWatcherEvent, encodeWatcherEvent } from './records/watches.js';
