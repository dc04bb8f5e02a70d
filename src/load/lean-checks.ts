// The lean load client's reply checks (src/load/lean-client.ts): pure functions over a frame's
// body, so each check is tested alone and the client only routes frames to them.

import { Err, Xid, errName } from '../common/zk.js';
import { JuteReader, JuteWriter, decodeConnectResponse } from '../protocol/jute/index.js';
import type { ConnectResponse } from '../protocol/types.js';
import { errorKindsMax, sessionPasswdBytes } from './limits.js';

/** A ping reply's body: ReplyHeader (xid int, zxid long, err int). */
export const replyHeaderBytes = 16;

export function decodeOrNull(buf: Buffer, start: number, end: number): ConnectResponse | null {
  try {
    return decodeConnectResponse(new JuteReader().reset(buf, start, end));
  } catch {
    return null;
  }
}

/** Why a decoded ConnectResponse is not a valid one, or null. */
export function connectResponseProblem(res: ConnectResponse | null): string | null {
  if (res === null) return 'connect: undecodable ConnectResponse';
  if (res.protocolVersion !== 0) return `connect: protocol version ${res.protocolVersion}`;
  // A timeout of 0 (or less) is how a server says the session is expired.
  if (res.timeOut <= 0) return 'connect: session expired (timeout <= 0)';
  if (res.sessionId === 0n) return 'connect: session id 0';
  if (res.passwd.byteLength !== sessionPasswdBytes) return `connect: password of ${res.passwd.byteLength} bytes`;
  return null;
}

/** Why a ConnectResponse (the frame's body, bytes [start, end) of buf) is not a valid one, or null. */
export function checkConnectResponse(buf: Buffer, start: number, end: number): string | null {
  return connectResponseProblem(decodeOrNull(buf, start, end));
}

/** Why a reply frame's body (bytes [start, end) of buf) does not answer our ping, or null. */
export function checkPingReply(buf: Buffer, start: number, end: number): string | null {
  if (end - start < replyHeaderBytes) return `ping: reply of ${end - start} bytes`;
  const xid = buf.readInt32BE(start);
  const err = buf.readInt32BE(start + 12);
  if (xid !== Xid.ping) return xid === Xid.notification ? 'ping: unexpected watch event' : `ping: reply xid ${xid}`;
  if (err !== Err.ok) return `ping: err ${errName(err)}`;
  if (end - start !== replyHeaderBytes) return `ping: reply of ${end - start} bytes`;
  return null;
}

/** A request frame that is only its header (ping, closeSession), built once per client. */
export function headerOnlyFrame(xid: number, op: number): Buffer {
  const w = new JuteWriter(16);
  w.beginFrame();
  w.writeInt(xid);
  w.writeInt(op);
  w.endFrame();
  return w.bytesCopy();
}

/** Count one more `kind` in `map`: at most errorKindsMax kinds, later ones fold into 'other'. */
export function countKind(map: Map<string, number>, kind: string): void {
  const k = map.has(kind) || map.size < errorKindsMax ? kind : 'other';
  map.set(k, (map.get(k) ?? 0) + 1);
}
