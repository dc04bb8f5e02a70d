// Znode data records: Stat, and the request and response bodies of create, delete, check, exists,
// getData, setData and getChildren (the hot ones); requests.ts and responses.ts dispatch to them.

import type {
  CheckVersionRequest,
  Create2Response,
  CreateRequest,
  CreateTTLRequest,
  DeleteRequest,
  PathRequest,
  PathWatchRequest,
  SetDataRequest,
  Stat,
} from '../../types.js';
import type { JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';
import { decodeACLs, encodeACLs } from './acl.js';

// ---- Stat ---------------------------------------------------------------------------------

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

// ---- request bodies -----------------------------------------------------------------------

/** CreateRequest: create, create2, createContainer; createTTL appends its ttl long. */
export function encodeCreate(w: JuteWriter, c: CreateRequest): void {
  w.writeString(c.path);
  w.writeBuffer(c.data);
  encodeACLs(w, c.acl);
  w.writeInt(c.flags);
}
export function decodeCreate(r: JuteReader): CreateRequest {
  const path = r.readString();
  const data = r.readData();
  const acl = decodeACLs(r);
  return { path, data, acl, flags: r.readInt() };
}
export function decodeCreateTTL(r: JuteReader): CreateTTLRequest {
  const c = decodeCreate(r);
  return { path: c.path, data: c.data, acl: c.acl, flags: c.flags, ttl: r.readLong() };
}

/** DeleteRequest and CheckVersionRequest: path then version. */
export function encodePathVersion(w: JuteWriter, q: DeleteRequest | CheckVersionRequest): void {
  w.writeString(q.path);
  w.writeInt(q.version);
}
export function decodePathVersion(r: JuteReader): DeleteRequest & CheckVersionRequest {
  const path = r.readString();
  return { path, version: r.readInt() };
}

/** exists, getData, getChildren, getChildren2: path then the watch flag. */
export function encodePathWatch(w: JuteWriter, q: PathWatchRequest): void {
  w.writeString(q.path);
  w.writeBool(q.watch);
}
export function decodePathWatch(r: JuteReader): PathWatchRequest {
  const path = r.readString();
  return { path, watch: r.readBool() };
}

/** deleteContainer, getACL, sync, getAllChildrenNumber, getEphemerals: a path alone. */
export function decodePath(r: JuteReader): PathRequest {
  return { path: r.readString() };
}

export function encodeSetData(w: JuteWriter, q: SetDataRequest): void {
  w.writeString(q.path);
  w.writeBuffer(q.data);
  w.writeInt(q.version);
}
export function decodeSetData(r: JuteReader): SetDataRequest {
  const path = r.readString();
  const data = r.readData();
  return { path, data, version: r.readInt() };
}

// ---- response bodies ----------------------------------------------------------------------

export function encodeCreate2(w: JuteWriter, c: Create2Response): void {
  w.writeString(c.path);
  encodeStat(w, c.stat);
}
export function decodeCreate2(r: JuteReader): Create2Response {
  const path = r.readString();
  return { path, stat: decodeStat(r) };
}

export function encodeGetData(w: JuteWriter, data: Uint8Array | null, stat: Stat): void {
  w.writeBuffer(data);
  encodeStat(w, stat);
}
