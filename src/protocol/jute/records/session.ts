// Session records: the handshake (ConnectRequest / ConnectResponse), the request and reply
// headers every packet starts with, the AuthPacket body and the whoAmI response.

import type {
  AuthPacket,
  ConnectRequest,
  ConnectResponse,
  ReplyHeader,
  RequestHeader,
  WhoAmIResponse,
} from '../../types.js';
import type { JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';
import { EMPTY } from './shared.js';

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
  // A view into the frame when the reader has bufferViews (the session worker's hot path: no
  // ArrayBuffer per connect), a copy otherwise.
  const passwd = r.readData() ?? EMPTY;
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

// ---- auth and whoAmI ----------------------------------------------------------------------

export function encodeAuth(w: JuteWriter, a: AuthPacket): void {
  w.writeInt(a.type);
  w.writeString(a.scheme);
  w.writeBuffer(a.auth);
}
export function decodeAuth(r: JuteReader): AuthPacket {
  const type = r.readInt();
  const scheme = r.readString();
  return { type, scheme, auth: r.readBufferCopy() ?? EMPTY };
}

export function encodeWhoAmI(w: JuteWriter, res: WhoAmIResponse): void {
  w.writeInt(res.clientInfo.length);
  for (const c of res.clientInfo) {
    w.writeString(c.authScheme);
    w.writeString(c.user);
  }
}
export function decodeClientInfo(r: JuteReader): { authScheme: string; user: string } {
  const authScheme = r.readString();
  return { authScheme, user: r.readString() };
}
