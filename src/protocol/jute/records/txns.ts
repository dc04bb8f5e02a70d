// Transaction records, as the txn log and Zab carry them: TxnHeader, each txn body by type, and
// MultiTxn (sub-txns framed as buffers, never nested).

import { OpCode } from '../../../common/zk.js';
import type { ACL, Txn, TxnHeader } from '../../types.js';
import { JuteError, type JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';
import { decodeACLs, encodeACLs } from './acl.js';
import { encodePathInt, unknownOp } from './shared.js';

/** Least bytes one encoded sub-txn occupies; lets vector reads reject impossible counts early. */
const TXN_BYTES_MIN = 8;

export function encodeTxnHeader(w: JuteWriter, h: TxnHeader): void {
  w.writeLongBig(h.clientId);
  w.writeInt(h.cxid);
  w.writeLong(h.zxid);
  w.writeLong(h.time);
  w.writeInt(h.type);
}
export function decodeTxnHeader(r: JuteReader): TxnHeader {
  return {
    clientId: r.readLongBig(),
    cxid: r.readInt(),
    zxid: r.readLong(),
    time: r.readLong(),
    type: r.readInt(),
  };
}

/** Writes a txn body (what follows its TxnHeader, whose type is txn.type). */
export function encodeTxn(w: JuteWriter, t: Txn): void {
  switch (t.type) {
    case OpCode.create:
      encodePathDataACL(w, t.path, t.data, t.acl);
      w.writeBool(t.ephemeral);
      return w.writeInt(t.parentCVersion);
    case OpCode.createContainer:
      encodePathDataACL(w, t.path, t.data, t.acl);
      return w.writeInt(t.parentCVersion);
    case OpCode.createTTL:
      encodePathDataACL(w, t.path, t.data, t.acl);
      w.writeInt(t.parentCVersion);
      return w.writeLong(t.ttl);
    case OpCode.delete:
    case OpCode.deleteContainer:
      return w.writeString(t.path);
    case OpCode.setData:
      w.writeString(t.path);
      w.writeBuffer(t.data);
      return w.writeInt(t.version);
    case OpCode.check:
      return encodePathInt(w, t.path, t.version);
    case OpCode.setACL:
      w.writeString(t.path);
      encodeACLs(w, t.acl);
      return w.writeInt(t.version);
    case OpCode.createSession:
      return w.writeInt(t.timeOut);
    case OpCode.closeSession:
      return w.writeStringVector(t.paths2Delete);
    case OpCode.error:
      return w.writeInt(t.err);
    case OpCode.multi:
      return encodeMultiTxn(w, t.txns);
  }
}

function encodePathDataACL(w: JuteWriter, path: string, data: Uint8Array | null, acl: ACL[]): void {
  w.writeString(path);
  w.writeBuffer(data);
  encodeACLs(w, acl);
}

/** MultiTxn: vector<Txn{int type; buffer data}>, each data the serialized sub-txn. */
function encodeMultiTxn(w: JuteWriter, txns: readonly Txn[]): void {
  w.writeInt(txns.length);
  for (const t of txns) {
    w.writeInt(t.type);
    w.beginFrame();
    encodeTxn(w, t);
    w.endFrame();
  }
}

/** Reads a txn body of TxnHeader.type `type`. create2 (15) txns, which ZooKeeper logs with a
 *  CreateTxn body, come back as type 1. */
export function decodeTxn(type: number, r: JuteReader): Txn {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
      return decodeCreateTxn(r);
    case OpCode.createContainer: {
      const path = r.readString();
      const data = r.readData();
      const acl = decodeACLs(r);
      return { type, path, data, acl, parentCVersion: r.readInt() };
    }
    case OpCode.createTTL: {
      const path = r.readString();
      const data = r.readData();
      const acl = decodeACLs(r);
      const parentCVersion = r.readInt();
      return { type, path, data, acl, parentCVersion, ttl: r.readLong() };
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, path: r.readString() };
    case OpCode.setData: {
      const path = r.readString();
      const data = r.readData();
      return { type, path, data, version: r.readInt() };
    }
    case OpCode.check: {
      const path = r.readString();
      return { type, path, version: r.readInt() };
    }
    case OpCode.setACL: {
      const path = r.readString();
      const acl = decodeACLs(r);
      return { type, path, acl, version: r.readInt() };
    }
    case OpCode.createSession:
      return { type, timeOut: r.readInt() };
    case OpCode.closeSession:
      // ZooKeeper writes an empty body unless closeSessionTxn is enabled.
      return { type, paths2Delete: r.remaining > 0 ? r.readStringVector() : [] };
    case OpCode.error:
      return { type, err: r.readInt() };
    case OpCode.multi:
      return { type, txns: r.readVector(decodeSubTxn, TXN_BYTES_MIN) };
    default:
      return unknownOp('txn', type);
  }
}

/** CreateTxn; an old CreateTxnV0 (no parentCVersion) reads with parentCVersion -1, as
 *  ZooKeeper's own log reader does. */
function decodeCreateTxn(r: JuteReader): Txn {
  const path = r.readString();
  const data = r.readData();
  const acl = decodeACLs(r);
  const ephemeral = r.readBool();
  const parentCVersion = r.remaining >= 4 ? r.readInt() : -1;
  return { type: OpCode.create, path, data, acl, ephemeral, parentCVersion };
}

/** One Txn{type, buffer data} of a MultiTxn. A nested MultiTxn is rejected: ZooKeeper never
 *  writes one, and allowing it would let input drive unbounded recursion. */
function decodeSubTxn(r: JuteReader): Txn {
  const type = r.readInt();
  if (type === OpCode.multi) return unknownOp('sub-txn', type);
  const len = r.readInt();
  if (len < 0 || len > r.bufferBytesMax) {
    throw new JuteError('ZKTS_ERR_JUTE_BAD_LENGTH', `bad sub-txn length ${len}`);
  }
  const saved = r.pushLimit(len);
  const t = decodeTxn(type, r);
  r.popLimit(saved);
  return t;
}
