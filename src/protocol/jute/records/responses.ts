// Reply bodies (what follows the ReplyHeader when err is ok), dispatched by opcode to the record
// families: data.ts (create2, Stat, getData ...), acl.ts, multi.ts, session.ts (whoAmI).

import { OpCode } from '../../../common/zk.js';
import type { ClientResponse } from '../../types.js';
import type { JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';
import { decodeACLs, encodeACLs } from './acl.js';
import { decodeCreate2, decodeStat, encodeCreate2, encodeGetData, encodeStat } from './data.js';
import { decodeMultiResults, encodeMultiResults } from './multi.js';
import { decodeClientInfo, encodeWhoAmI } from './session.js';
import { unknownOp } from './shared.js';

/** Writes a reply body (what follows the ReplyHeader; only sent when err is ok). */
export function encodeResponse(w: JuteWriter, s: ClientResponse): void {
  switch (s.op) {
    case OpCode.create:
    case OpCode.sync:
      return w.writeString(s.res.path);
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return encodeCreate2(w, s.res);
    case OpCode.exists:
    case OpCode.setData:
    case OpCode.setACL:
      return encodeStat(w, s.res.stat);
    case OpCode.getData:
      return encodeGetData(w, s.res.data, s.res.stat);
    case OpCode.getACL:
      encodeACLs(w, s.res.acl);
      return encodeStat(w, s.res.stat);
    case OpCode.getChildren:
      return w.writeStringVector(s.res.children);
    case OpCode.getChildren2:
      w.writeStringVector(s.res.children);
      return encodeStat(w, s.res.stat);
    case OpCode.getAllChildrenNumber:
      return w.writeInt(s.res.totalNumber);
    case OpCode.getEphemerals:
      return w.writeStringVector(s.res.ephemerals);
    case OpCode.whoAmI:
      return encodeWhoAmI(w, s.res);
    case OpCode.multi:
    case OpCode.multiRead:
      return encodeMultiResults(w, s.res);
    default:
      return; // header-only replies
  }
}

/** Reads the body of a successful reply to a request of opcode `op`. */
export function decodeResponse(op: number, r: JuteReader): ClientResponse {
  switch (op) {
    case OpCode.create:
    case OpCode.sync:
      return { op, res: { path: r.readString() } };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { op, res: decodeCreate2(r) };
    case OpCode.exists:
    case OpCode.setData:
    case OpCode.setACL:
      return { op, res: { stat: decodeStat(r) } };
    case OpCode.getData: {
      const data = r.readData();
      return { op, res: { data, stat: decodeStat(r) } };
    }
    case OpCode.getACL: {
      const acl = decodeACLs(r);
      return { op, res: { acl, stat: decodeStat(r) } };
    }
    case OpCode.getChildren:
      return { op, res: { children: r.readStringVector() } };
    case OpCode.getChildren2: {
      const children = r.readStringVector();
      return { op, res: { children, stat: decodeStat(r) } };
    }
    case OpCode.getAllChildrenNumber:
      return { op, res: { totalNumber: r.readInt() } };
    case OpCode.getEphemerals:
      return { op, res: { ephemerals: r.readStringVector() } };
    case OpCode.whoAmI:
      return { op, res: { clientInfo: r.readVector(decodeClientInfo, 8) } };
    case OpCode.multi:
    case OpCode.multiRead:
      return { op, res: decodeMultiResults(r) };
    case OpCode.delete:
    case OpCode.check:
    case OpCode.deleteContainer:
    case OpCode.setWatches:
    case OpCode.setWatches2:
    case OpCode.addWatch:
    case OpCode.checkWatches:
    case OpCode.removeWatches:
    case OpCode.auth:
    case OpCode.ping:
    case OpCode.closeSession:
      return { op, res: null };
    default:
      return unknownOp('response', op);
  }
}
