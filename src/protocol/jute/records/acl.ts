// Access control records: Id, ACL, vector<ACL> (with the reader's aclEntriesKept cap), and the
// SetACLRequest body.

import type { ACL, Id, SetACLRequest } from '../../types.js';
import type { JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';

/** Least bytes one encoded item occupies; lets vector reads reject impossible counts early. */
const ID_BYTES_MIN = 8;
const ACL_BYTES_MIN = 4 + ID_BYTES_MIN;

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

export function encodeSetACL(w: JuteWriter, q: SetACLRequest): void {
  w.writeString(q.path);
  encodeACLs(w, q.acl);
  w.writeInt(q.version);
}
export function decodeSetACL(r: JuteReader): SetACLRequest {
  const path = r.readString();
  const acl = decodeACLs(r);
  return { path, acl, version: r.readInt() };
}
