// Request bodies (what follows the RequestHeader), dispatched by opcode to the record families:
// data.ts (create, delete, exists, getData, setData, getChildren ...), acl.ts, multi.ts,
// watches.ts, session.ts (auth).

import { OpCode } from '../../../common/zk.js';
import type { ClientRequest } from '../../types.js';
import type { JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';
import { decodeSetACL, encodeSetACL } from './acl.js';
import {
  decodeCreate,
  decodeCreateTTL,
  decodePath,
  decodePathVersion,
  decodePathWatch,
  decodeSetData,
  encodeCreate,
  encodePathVersion,
  encodePathWatch,
  encodeSetData,
} from './data.js';
import { decodeMulti, encodeMulti } from './multi.js';
import { decodeAuth, encodeAuth } from './session.js';
import { encodePathInt, unknownOp } from './shared.js';
import {
  decodeAddWatch,
  decodeRemoveWatches,
  decodeSetWatches,
  decodeSetWatches2,
  encodeSetWatches,
  encodeSetWatches2,
} from './watches.js';

/** Writes a request body (what follows the RequestHeader). */
export function encodeRequest(w: JuteWriter, q: ClientRequest): void {
  switch (q.op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return encodeCreate(w, q.req);
    case OpCode.createTTL:
      encodeCreate(w, q.req);
      return w.writeLong(q.req.ttl);
    case OpCode.delete:
    case OpCode.check:
      return encodePathVersion(w, q.req);
    case OpCode.deleteContainer:
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getAllChildrenNumber:
    case OpCode.getEphemerals:
      return w.writeString(q.req.path);
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return encodePathWatch(w, q.req);
    case OpCode.setData:
      return encodeSetData(w, q.req);
    case OpCode.setACL:
      return encodeSetACL(w, q.req);
    case OpCode.multi:
    case OpCode.multiRead:
      return encodeMulti(w, q.req);
    case OpCode.setWatches:
      return encodeSetWatches(w, q.req);
    case OpCode.setWatches2:
      return encodeSetWatches2(w, q.req);
    case OpCode.addWatch:
      return encodePathInt(w, q.req.path, q.req.mode);
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return encodePathInt(w, q.req.path, q.req.type);
    case OpCode.auth:
      return encodeAuth(w, q.req);
    case OpCode.ping:
    case OpCode.closeSession:
    case OpCode.whoAmI:
      return;
  }
}

/** Reads the body of a request of opcode `op` (RequestHeader.type). Throws JuteError
 *  'ZKTS_ERR_JUTE_UNKNOWN_OP' for opcodes zkts does not decode (sasl, reconfig, ...), so the
 *  caller can answer unimplemented. deleteContainer is read as a PathRequest: ZooKeeper only
 *  issues it server-side (raw path bytes), never from a client. */
export function decodeRequest(op: number, r: JuteReader): ClientRequest {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { op, req: decodeCreate(r) };
    case OpCode.createTTL:
      return { op, req: decodeCreateTTL(r) };
    case OpCode.delete:
    case OpCode.check:
      return { op, req: decodePathVersion(r) };
    case OpCode.deleteContainer:
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getAllChildrenNumber:
    case OpCode.getEphemerals:
      return { op, req: decodePath(r) };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { op, req: decodePathWatch(r) };
    case OpCode.setData:
      return { op, req: decodeSetData(r) };
    case OpCode.setACL:
      return { op, req: decodeSetACL(r) };
    case OpCode.multi:
    case OpCode.multiRead:
      return { op, req: decodeMulti(r, op) };
    case OpCode.setWatches:
      return { op, req: decodeSetWatches(r) };
    case OpCode.setWatches2:
      return { op, req: decodeSetWatches2(r) };
    case OpCode.addWatch:
      return { op, req: decodeAddWatch(r) };
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return { op, req: decodeRemoveWatches(r) };
    case OpCode.auth:
      return { op, req: decodeAuth(r) };
    case OpCode.ping:
    case OpCode.closeSession:
    case OpCode.whoAmI:
      return { op, req: null };
    default:
      return unknownOp('request', op);
  }
}
