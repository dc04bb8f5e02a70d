// size: one encoder and one decoder per record of zookeeper.jute, kept together beside the schema they mirror; a split by record family (session, data, watches, txns) is the way down.
// Encoders and decoders for the zookeeper.jute records in ../types.ts, in both directions: the
// server decodes requests and encodes responses, the zkts client and load harness do the reverse,
// and the txn log / Zab use the txn records. Field order follows zookeeper.jute (3.8); multi
// framing follows MultiOperationRecord / MultiResponse.

import { Err, OpCode, type OpCodeOf } from '../../common/zk.js';
import type {
  ACL,
  AddWatchRequest,
  AuthPacket,
  CheckVersionRequest,
  ClientRequest,
  ClientResponse,
  ConnectRequest,
  ConnectResponse,
  Create2Response,
  CreateRequest,
  CreateTTLRequest,
  DeleteRequest,
  Id,
  MultiHeader,
  MultiOp,
  MultiResult,
  PathRequest,
  PathWatchRequest,
  RemoveWatchesRequest,
  ReplyHeader,
  RequestHeader,
  SetACLRequest,
  SetDataRequest,
  SetWatches,
  SetWatches2,
  Stat,
  Txn,
  TxnHeader,
  WatcherEvent,
  WhoAmIResponse,
} from '../types.js';
import { JuteError, type JuteReader } from './reader.js';
import type { JuteWriter } from './writer.js';

const EMPTY = new Uint8Array(0);

/** Least bytes one encoded item occupies; lets vector reads reject impossible counts early. */
const ID_BYTES_MIN = 8;
const ACL_BYTES_MIN = 4 + ID_BYTES_MIN;
const TXN_BYTES_MIN = 8;

function unknownOp(what: string, op: number): never {
  throw new JuteError('ZKTS_ERR_JUTE_UNKNOWN_OP', `unknown ${what} type ${op}`);
}

// ---- data ---------------------------------------------------------------------------------

export function encodeId(w: JuteWriter, id: Id): void {
  w.writeString(id.scheme);
  w.writeString(id.id);
}
export function decodeId(r: JuteReader): Id {
  const scheme = r.readString();
  return { scheme, id: r.readString() };
}

export function encodeACL(w: JuteWriter, acl: ACL): void {
  w.writeInt(acl.perms);
  encodeId(w, acl.id);
}
export function decodeACL(r: JuteReader): ACL {
  const perms = r.readInt();
  return { perms, id: decodeId(r) };
}

/** vector<ACL> */
export function encodeACLs(w: JuteWriter, acl: readonly ACL[]): void {
  w.writeVector(acl, encodeACL);
}
export function decodeACLs(r: JuteReader): ACL[] {
  const kept = r.aclEntriesKept;
  if (kept === Infinity) return r.readVector(decodeACL, ACL_BYTES_MIN);
  return r.readVectorKept(decodeACL, skipACL, ACL_BYTES_MIN, kept);
}
function skipACL(r: JuteReader): void {
  r.readInt();
  r.skipBuffer();
  r.skipBuffer();
}

/** Stat's encoded size: 6 longs and 5 ints. */
export const STAT_BYTES = 6 * 8 + 5 * 4;

export function encodeStat(w: JuteWriter, s: Stat): void {
  w.reserve(STAT_BYTES);
  w.writeLong(s.czxid);
  w.writeLong(s.mzxid);
  w.writeLong(s.ctime);
  w.writeLong(s.mtime);
  w.writeInt(s.version);
  w.writeInt(s.cversion);
  w.writeInt(s.aversion);
  w.writeLongBig(s.ephemeralOwner);
  w.writeInt(s.dataLength);
  w.writeInt(s.numChildren);
  w.writeLong(s.pzxid);
}
export function decodeStat(r: JuteReader): Stat {
  // Object literal in field order: evaluation order is guaranteed, and V8 gets one shape.
  return {
    czxid: r.readLong(),
    mzxid: r.readLong(),
    ctime: r.readLong(),
    mtime: r.readLong(),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readLongBig(),
    dataLength: r.readInt(),
    numChildren: r.readInt(),
    pzxid: r.readLong(),
  };
}

// ---- handshake ----------------------------------------------------------------------------

/** ConnectRequest followed by readOnly (as ClientCnxn sends it); the zkts-only localSession bool
 *  is appended only when true, so the bytes stay identical to a stock client's otherwise. */
export function encodeConnectRequest(w: JuteWriter, c: ConnectRequest): void {
  w.writeInt(c.protocolVersion);
  w.writeLong(c.lastZxidSeen);
  w.writeInt(c.timeOut);
  w.writeLongBig(c.sessionId);
  w.writeBuffer(c.passwd);
  w.writeBool(c.readOnly);
  if (c.localSession) w.writeBool(true);
}
/** The trailing bools are read only if bytes remain: pre-3.4 clients omit readOnly, and only
 *  zkts clients send localSession. passwd is always copied: the session keeps it. */
export function decodeConnectRequest(r: JuteReader): ConnectRequest {
  const protocolVersion = r.readInt();
  const lastZxidSeen = r.readLong();
  const timeOut = r.readInt();
  const sessionId = r.readLongBig();
  const passwd = r.readBufferCopy() ?? EMPTY;
  const readOnly = r.remaining > 0 ? r.readBool() : false;
  const localSession = r.remaining > 0 ? r.readBool() : false;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly, localSession };
}

/** ConnectResponse followed by readOnly, as ZooKeeperServer sends it. */
export function encodeConnectResponse(w: JuteWriter, c: ConnectResponse): void {
  w.writeInt(c.protocolVersion);
  w.writeInt(c.timeOut);
  w.writeLongBig(c.sessionId);
  w.writeBuffer(c.passwd);
  w.writeBool(c.readOnly);
}
/** readOnly is read only if present, as ClientCnxnSocket does for old servers. */
export function decodeConnectResponse(r: JuteReader): ConnectResponse {
  const protocolVersion = r.readInt();
  const timeOut = r.readInt();
  const sessionId = r.readLongBig();
  const passwd = r.readBufferCopy() ?? EMPTY;
  const readOnly = r.remaining > 0 ? r.readBool() : false;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}

// ---- headers ------------------------------------------------------------------------------

export function encodeRequestHeader(w: JuteWriter, h: RequestHeader): void {
  w.writeInt(h.xid);
  w.writeInt(h.type);
}
export function decodeRequestHeader(r: JuteReader): RequestHeader {
  const xid = r.readInt();
  return { xid, type: r.readInt() };
}

export function encodeReplyHeader(w: JuteWriter, h: ReplyHeader): void {
  w.writeInt(h.xid);
  w.writeLong(h.zxid);
  w.writeInt(h.err);
}
export function decodeReplyHeader(r: JuteReader): ReplyHeader {
  const xid = r.readInt();
  const zxid = r.readLong();
  return { xid, zxid, err: r.readInt() };
}

export function encodeMultiHeader(w: JuteWriter, h: MultiHeader): void {
  writeMultiHeader(w, h.type, h.done, h.err);
}
/** The multi loops write headers field by field: no object per sub-op. */
function writeMultiHeader(w: JuteWriter, type: number, done: boolean, err: number): void {
  w.writeInt(type);
  w.writeBool(done);
  w.writeInt(err);
}
export function decodeMultiHeader(r: JuteReader): MultiHeader {
  const type = r.readInt();
  const done = r.readBool();
  return { type, done, err: r.readInt() };
}

export function encodeWatcherEvent(w: JuteWriter, e: WatcherEvent): void {
  w.writeInt(e.type);
  w.writeInt(e.state);
  w.writeString(e.path);
}
export function decodeWatcherEvent(r: JuteReader): WatcherEvent {
  const type = r.readInt();
  const state = r.readInt();
  return { type, state, path: r.readString() };
}

// ---- request bodies -----------------------------------------------------------------------

function encodeCreate(w: JuteWriter, c: CreateRequest): void {
  w.writeString(c.path);
  w.writeBuffer(c.data);
  encodeACLs(w, c.acl);
  w.writeInt(c.flags);
}
function decodeCreate(r: JuteReader): CreateRequest {
  const path = r.readString();
  const data = r.readData();
  const acl = decodeACLs(r);
  return { path, data, acl, flags: r.readInt() };
}
function decodeCreateTTL(r: JuteReader): CreateTTLRequest {
  const c = decodeCreate(r);
  return { path: c.path, data: c.data, acl: c.acl, flags: c.flags, ttl: r.readLong() };
}

function encodePathVersion(w: JuteWriter, q: DeleteRequest | CheckVersionRequest): void {
  w.writeString(q.path);
  w.writeInt(q.version);
}
function decodePathVersion(r: JuteReader): DeleteRequest & CheckVersionRequest {
  const path = r.readString();
  return { path, version: r.readInt() };
}

function encodePathWatch(w: JuteWriter, q: PathWatchRequest): void {
  w.writeString(q.path);
  w.writeBool(q.watch);
}
function decodePathWatch(r: JuteReader): PathWatchRequest {
  const path = r.readString();
  return { path, watch: r.readBool() };
}

function decodePath(r: JuteReader): PathRequest {
  return { path: r.readString() };
}

function encodeSetData(w: JuteWriter, q: SetDataRequest): void {
  w.writeString(q.path);
  w.writeBuffer(q.data);
  w.writeInt(q.version);
}
function decodeSetData(r: JuteReader): SetDataRequest {
  const path = r.readString();
  const data = r.readData();
  return { path, data, version: r.readInt() };
}

function encodeSetACL(w: JuteWriter, q: SetACLRequest): void {
  w.writeString(q.path);
  encodeACLs(w, q.acl);
  w.writeInt(q.version);
}
function decodeSetACL(r: JuteReader): SetACLRequest {
  const path = r.readString();
  const acl = decodeACLs(r);
  return { path, acl, version: r.readInt() };
}

function encodeSetWatches(w: JuteWriter, q: SetWatches): void {
  w.writeLong(q.relativeZxid);
  w.writeStringVector(q.dataWatches);
  w.writeStringVector(q.existWatches);
  w.writeStringVector(q.childWatches);
}
function decodeSetWatches(r: JuteReader): SetWatches {
  const relativeZxid = r.readLong();
  const dataWatches = r.readStringVector();
  const existWatches = r.readStringVector();
  return { relativeZxid, dataWatches, existWatches, childWatches: r.readStringVector() };
}
function encodeSetWatches2(w: JuteWriter, q: SetWatches2): void {
  encodeSetWatches(w, q);
  w.writeStringVector(q.persistentWatches);
  w.writeStringVector(q.persistentRecursiveWatches);
}
function decodeSetWatches2(r: JuteReader): SetWatches2 {
  const s = decodeSetWatches(r);
  const persistentWatches = r.readStringVector();
  return {
    relativeZxid: s.relativeZxid,
    dataWatches: s.dataWatches,
    existWatches: s.existWatches,
    childWatches: s.childWatches,
    persistentWatches,
    persistentRecursiveWatches: r.readStringVector(),
  };
}

/** AddWatchRequest {path, mode} and Remove/CheckWatchesRequest {path, type}: path then int. */
function encodePathInt(w: JuteWriter, path: string, v: number): void {
  w.writeString(path);
  w.writeInt(v);
}
function decodeAddWatch(r: JuteReader): AddWatchRequest {
  const path = r.readString();
  return { path, mode: r.readInt() };
}
function decodeRemoveWatches(r: JuteReader): RemoveWatchesRequest {
  const path = r.readString();
  return { path, type: r.readInt() };
}

function encodeAuth(w: JuteWriter, a: AuthPacket): void {
  w.writeInt(a.type);
  w.writeString(a.scheme);
  w.writeBuffer(a.auth);
}
function decodeAuth(r: JuteReader): AuthPacket {
  const type = r.readInt();
  const scheme = r.readString();
  return { type, scheme, auth: r.readBufferCopy() ?? EMPTY };
}

// ---- multi requests -----------------------------------------------------------------------

const multiReadOps: ReadonlySet<number> = new Set([OpCode.getData, OpCode.getChildren]);
const multiWriteOps: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);

/** The err of a request sub-op's MultiHeader and of the done header: ZooKeeper writes -1, a
 *  placeholder rather than a KeeperException code. */
const multiHeaderErrUnused = -1;

/** MultiOperationRecord: (MultiHeader{op, false, -1} body)* MultiHeader{-1, true, -1}. */
function encodeMulti(w: JuteWriter, ops: readonly MultiOp[]): void {
  for (const m of ops) {
    writeMultiHeader(w, m.op, false, multiHeaderErrUnused);
    encodeMultiOp(w, m);
  }
  writeMultiHeader(w, OpCode.error, true, multiHeaderErrUnused);
}

function encodeMultiOp(w: JuteWriter, m: MultiOp): void {
  switch (m.op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return encodeCreate(w, m.req);
    case OpCode.createTTL:
      encodeCreate(w, m.req);
      return w.writeLong(m.req.ttl);
    case OpCode.delete:
    case OpCode.check:
      return encodePathVersion(w, m.req);
    case OpCode.setData:
      return encodeSetData(w, m.req);
    case OpCode.getData:
    case OpCode.getChildren:
      return encodePathWatch(w, m.req);
  }
}

/** Reads sub-ops until the done header. Like MultiOperationRecord, rejects read and write ops
 *  mixed; also rejects ops of the wrong kind for the container (multi vs multiRead). */
function decodeMulti(r: JuteReader, container: OpCodeOf<'multi' | 'multiRead'>): MultiOp[] {
  const allowed = container === OpCode.multi ? multiWriteOps : multiReadOps;
  const ops: MultiOp[] = [];
  for (;;) {
    const type = r.readInt();
    const done = r.readBool();
    r.readInt(); // err: meaningless in requests
    if (done) return ops;
    const m = decodeMultiOp(r, type);
    if (!allowed.has(type)) {
      throw new JuteError('ZKTS_ERR_JUTE_BAD_MULTI', `op ${type} not allowed in ${container}`);
    }
    ops.push(m);
  }
}

function decodeMultiOp(r: JuteReader, op: number): MultiOp {
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
    case OpCode.setData:
      return { op, req: decodeSetData(r) };
    case OpCode.getData:
    case OpCode.getChildren:
      return { op, req: decodePathWatch(r) };
    default:
      return unknownOp('multi op', op);
  }
}

// ---- requests -----------------------------------------------------------------------------

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

// ---- responses ----------------------------------------------------------------------------

function encodeCreate2(w: JuteWriter, c: Create2Response): void {
  w.writeString(c.path);
  encodeStat(w, c.stat);
}
function decodeCreate2(r: JuteReader): Create2Response {
  const path = r.readString();
  return { path, stat: decodeStat(r) };
}

function encodeGetData(w: JuteWriter, data: Uint8Array | null, stat: Stat): void {
  w.writeBuffer(data);
  encodeStat(w, stat);
}

function encodeWhoAmI(w: JuteWriter, res: WhoAmIResponse): void {
  w.writeInt(res.clientInfo.length);
  for (const c of res.clientInfo) {
    w.writeString(c.authScheme);
    w.writeString(c.user);
  }
}
function decodeClientInfo(r: JuteReader): { authScheme: string; user: string } {
  const authScheme = r.readString();
  return { authScheme, user: r.readString() };
}

/** MultiResponse: (MultiHeader{type, false, err} body)* MultiHeader{-1, true, -1}; an error
 *  result is type -1 with its code both in the header and in an ErrorResponse body. */
function encodeMultiResults(w: JuteWriter, results: readonly MultiResult[]): void {
  for (const m of results) {
    writeMultiHeader(w, m.op, false, m.op === OpCode.error ? m.err : Err.ok);
    encodeMultiResult(w, m);
  }
  writeMultiHeader(w, OpCode.error, true, multiHeaderErrUnused);
}

function encodeMultiResult(w: JuteWriter, m: MultiResult): void {
  switch (m.op) {
    case OpCode.create:
      return w.writeString(m.path);
    case OpCode.create2:
      return encodeCreate2(w, m);
    case OpCode.delete:
    case OpCode.check:
      return;
    case OpCode.setData:
      return encodeStat(w, m.stat);
    case OpCode.getData:
      return encodeGetData(w, m.data, m.stat);
    case OpCode.getChildren:
      return w.writeStringVector(m.children);
    case OpCode.error:
      return w.writeInt(m.err);
  }
}

function decodeMultiResults(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = [];
  for (;;) {
    const type = r.readInt();
    const done = r.readBool();
    r.readInt(); // err: ErrorResponse repeats it, and MultiResponse reads it from there
    if (done) return results;
    results.push(decodeMultiResult(r, type));
  }
}

function decodeMultiResult(r: JuteReader, op: number): MultiResult {
  switch (op) {
    case OpCode.create:
      return { op, path: r.readString() };
    case OpCode.create2: {
      const c = decodeCreate2(r);
      return { op, path: c.path, stat: c.stat };
    }
    case OpCode.delete:
    case OpCode.check:
      return { op };
    case OpCode.setData:
      return { op, stat: decodeStat(r) };
    case OpCode.getData: {
      const data = r.readData();
      return { op, data, stat: decodeStat(r) };
    }
    case OpCode.getChildren:
      return { op, children: r.readStringVector() };
    case OpCode.error:
      return { op, err: r.readInt() };
    default:
      return unknownOp('multi result', op);
  }
}

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

// ---- transactions -------------------------------------------------------------------------

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
