// The records that cross the rings between a session worker and the main thread: the only
// contract between src/workers and src/main. Each record is encoded in place into ring memory
// (a Buffer and a DataView over the same SharedArrayBuffer) and decoded in place into reusable
// flyweight objects, so the hot path allocates nothing per record but the strings it must keep.
//
// Numbers are little-endian. Session ids (64-bit, server id in the top byte) travel as hi/lo u32.
// zxids travel as float64: exact while the epoch stays below 2^21, which the main thread asserts.
// Strings are UTF-8 with a u32 byte length: a path is bounded only by the request that carried it
// (jute.maxbuffer), so may be longer than 64 KiB. A record larger than its ring crosses in
// fragments (fragments.ts); every record is bounded by limits.ts recordBytesMax.
import { WatchKind } from '../common/zk.js';
import { recordBytesMax } from './limits.js';

/** Record kinds. Worker → main below 16, main → worker from 16. */
export const RecordKind = {
  /** A client request for the main thread. */
  request: 1,
  /** A connection asks for (or brings back) a session. */
  attach: 2,
  /** A connection went away, or a local session ended on the worker. */
  detach: 3,
  /** The session authenticated an id (the ip id comes with attach). */
  auth: 4,
  /** Global sessions heard from since the last batch. */
  touch: 5,

  /** The answer to a request, in the session's order. */
  reply: 16,
  /** The answer to an attach. */
  attached: 17,
  /** A watch trigger: fan out to every session of this worker watching it (or to one target). */
  event: 18,
  /** Register a watch for a session (reads with watch=true, addWatch, setWatches). */
  watchRegister: 19,
  /** A session ended or moved: the worker drops it (and closes its connection, if any). */
  sessionEnd: 20,
  /** A local session became global. */
  upgraded: 21,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/** Flags of request and attach records. */
export const SessionFlag = {
  local: 1,
  /** attach: a new session (session id chosen by the worker), not a reconnect. */
  create: 2,
  readOnly: 4,
} as const;

/** Flags of reply records. */
export const ReplyFlag = {
  /** The main thread only kept the session's order; the worker answers the request itself
   *  (removeWatches, checkWatches, whoAmI: state the worker owns). */
  workerCompletes: 1,
  /** The reply is too large to deliver (over recordBytesMax): there is no body, and the worker
   *  closes the connection in its turn, as a ZooKeeper client does with a reply over its
   *  jute.maxbuffer. The session lives on; the client may reconnect. */
  tooLarge: 2,
} as const;

export const DetachReason = {
  connectionClosed: 0,
  localSessionExpired: 1,
  localSessionClosed: 2,
} as const;

export const SessionEndReason = {
  expired: 1,
  /** Another connection took the session over (possibly on another worker). */
  moved: 2,
  closed: 3,
} as const;

/** Watch kinds, as worker watch tables and main thread masks know them. */
export { WatchKind };

// ---- sizes ---------------------------------------------------------------------------------

export const requestHeaderBytes = 24;
export const replyHeaderBytes = 28;
/** The largest reply body the rings deliver; a larger one gets ReplyFlag.tooLarge instead. */
export const replyBodyBytesMax = recordBytesMax - replyHeaderBytes;
const attachHeaderBytes = 34;
const u32 = 4;

export function stringBytes(s: string): number {
  return u32 + Buffer.byteLength(s, 'utf8');
}

// ---- encoders: write at `off`, return the end offset ------------------------------------------

/** A Buffer over the same memory as `bytes` (ring memory or a scratch buffer), cached so the
 *  hot path does not build one per string. */
const buffers = new WeakMap<Uint8Array, Buffer>();
function asBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  let b = buffers.get(bytes);
  if (b === undefined) {
    b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    buffers.set(bytes, b);
  }
  return b;
}

/** Writes `s` at `off`; the caller reserved stringBytes(s) there. */
export function writeString(buf: Uint8Array, view: DataView, off: number, s: string): number {
  const n = asBuffer(buf).write(s, off + u32, 'utf8');
  view.setUint32(off, n, true);
  return off + u32 + n;
}

export function encodeRequestHeader(
  view: DataView,
  off: number,
  r: { sidHi: number; sidLo: number; xid: number; op: number; flags: number; timeoutMs: number },
): number {
  view.setUint32(off, r.sidHi, true);
  view.setUint32(off + 4, r.sidLo, true);
  view.setInt32(off + 8, r.xid, true);
  view.setInt32(off + 12, r.op, true);
  view.setUint32(off + 16, r.flags, true);
  view.setUint32(off + 20, r.timeoutMs, true);
  return off + requestHeaderBytes; // the jute request body follows, to the end of the record
}

export interface AttachFields {
  sidHi: number;
  sidLo: number;
  flags: number;
  timeoutMs: number;
  lastZxidSeen: number;
  connId: number;
  passwdOk: boolean;
  ip: string;
}
export function attachBytes(a: { ip: string }): number {
  return attachHeaderBytes + stringBytes(a.ip);
}
export function encodeAttach(buf: Uint8Array, view: DataView, off: number, a: AttachFields): number {
  view.setUint32(off, a.sidHi, true);
  view.setUint32(off + 4, a.sidLo, true);
  view.setUint32(off + 8, a.flags, true);
  view.setUint32(off + 12, a.timeoutMs, true);
  view.setFloat64(off + 16, a.lastZxidSeen, true);
  view.setUint32(off + 24, a.connId, true);
  view.setUint32(off + 28, a.passwdOk ? 1 : 0, true);
  view.setUint16(off + 32, 0, true);
  return writeString(buf, view, off + attachHeaderBytes, a.ip);
}

export const detachBytes = 16;
export function encodeDetach(
  view: DataView,
  off: number,
  d: { sidHi: number; sidLo: number; connId: number; reason: number },
): number {
  view.setUint32(off, d.sidHi, true);
  view.setUint32(off + 4, d.sidLo, true);
  view.setUint32(off + 8, d.connId, true);
  view.setUint32(off + 12, d.reason, true);
  return off + detachBytes;
}

export function authBytes(scheme: string, id: string): number {
  return 8 + stringBytes(scheme) + stringBytes(id);
}
export function encodeAuth(
  buf: Uint8Array,
  view: DataView,
  off: number,
  a: { sidHi: number; sidLo: number; scheme: string; id: string },
): number {
  view.setUint32(off, a.sidHi, true);
  view.setUint32(off + 4, a.sidLo, true);
  const end = writeString(buf, view, off + 8, a.scheme);
  return writeString(buf, view, end, a.id);
}

/** touch: u32 count, then count × (hi, lo). */
export function touchBytes(count: number): number {
  return 4 + count * 8;
}

export function encodeReplyHeader(
  view: DataView,
  off: number,
  r: { sidHi: number; sidLo: number; xid: number; err: number; zxid: number; flags: number },
): number {
  view.setUint32(off, r.sidHi, true);
  view.setUint32(off + 4, r.sidLo, true);
  view.setInt32(off + 8, r.xid, true);
  view.setInt32(off + 12, r.err, true);
  view.setFloat64(off + 16, r.zxid, true);
  view.setUint32(off + 24, r.flags, true);
  return off + replyHeaderBytes; // the jute reply body follows, to the end of the record
}

/**
 * attached: the answer to an attach. `flags` (SessionFlag, added by the session-worker work) says
 * what kind of session the connection got back: a worker that brings a session back with a
 * reconnect (session id != 0, not held by that worker) cannot tell a local session that lived on
 * another worker from a global one; SessionFlag.local tells it to expire the session itself and
 * to send no touches for it. 0 for global sessions (and for answers to `create` attaches).
 */
export const attachedBytes = 24;
export function encodeAttached(
  view: DataView,
  off: number,
  a: { sidHi: number; sidLo: number; connId: number; err: number; timeoutMs: number; flags?: number },
): number {
  view.setUint32(off, a.sidHi, true);
  view.setUint32(off + 4, a.sidLo, true);
  view.setUint32(off + 8, a.connId, true);
  view.setInt32(off + 12, a.err, true);
  view.setUint32(off + 16, a.timeoutMs, true);
  view.setUint32(off + 20, a.flags ?? 0, true);
  return off + attachedBytes;
}

/**
 * Who may see an event (CVE-2024-23944: ZooKeeper 3.8.4 delivers an event only to watchers with
 * READ on the node it is about; the parent for NodeChildrenChanged). null: everyone (the ACL is
 * empty or grants world:anyone READ). Otherwise the ids of the ACL entries granting READ, by
 * scheme; a session holding the super id sees every event. The main thread knows the ACL, the
 * worker its sessions' ids, so the event carries the one to the other, once per worker.
 */
export interface EventReaders {
  /** digest ids "user:base64(sha1)", matched exactly against a session's digest ids. */
  readonly digestIds: readonly string[];
  /** ip ACL ids ("addr" or "addr/bits"), matched against the connection's address. */
  readonly ipIds: readonly string[];
}

/** Flags of event records. */
export const EventFlag = {
  /** EventReaders follow the path: only sessions they admit get the event. */
  restricted: 1,
} as const;


/** Bytes `readers` take after the path (two u16 counts, then the strings); 0 for null. */
export function eventReadersBytes(readers: EventReaders | null): number {
  if (readers === null) return 0;
  let n = 4;
  for (const id of readers.digestIds) n += stringBytes(id);
  for (const id of readers.ipIds) n += stringBytes(id);
  return n;
}

/** event: target session (0/0 = every watcher on this worker), event type, flags (EventFlag),
 *  zxid, path, then the readers when restricted. */
export function eventBytes(path: string, readers: EventReaders | null = null): number {
  return 24 + stringBytes(path) + eventReadersBytes(readers);
}
export function encodeEvent(
  buf: Uint8Array,
  view: DataView,
  off: number,
  e: {
    targetHi: number;
    targetLo: number;
    type: number;
    zxid: number;
    path: string;
    readers?: EventReaders | null;
  },
): number {
  const readers = e.readers ?? null;
  view.setUint32(off, e.targetHi, true);
  view.setUint32(off + 4, e.targetLo, true);
  view.setInt32(off + 8, e.type, true);
  view.setUint32(off + 12, readers === null ? 0 : EventFlag.restricted, true);
  view.setFloat64(off + 16, e.zxid, true);
  let end = writeString(buf, view, off + 24, e.path);
  if (readers === null) return end;
  view.setUint16(end, readers.digestIds.length, true);
  view.setUint16(end + 2, readers.ipIds.length, true);
  end += 4;
  for (const id of readers.digestIds) end = writeString(buf, view, end, id);
  for (const id of readers.ipIds) end = writeString(buf, view, end, id);
  return end;
}

export function watchRegisterBytes(path: string): number {
  return 12 + stringBytes(path);
}
export function encodeWatchRegister(
  buf: Uint8Array,
  view: DataView,
  off: number,
  w: { sidHi: number; sidLo: number; kind: number; path: string },
): number {
  view.setUint32(off, w.sidHi, true);
  view.setUint32(off + 4, w.sidLo, true);
  view.setUint32(off + 8, w.kind, true);
  return writeString(buf, view, off + 12, w.path);
}

export const sessionEndBytes = 12;
export function encodeSessionEnd(
  view: DataView,
  off: number,
  s: { sidHi: number; sidLo: number; reason: number },
): number {
  view.setUint32(off, s.sidHi, true);
  view.setUint32(off + 4, s.sidLo, true);
  view.setUint32(off + 8, s.reason, true);
  return off + sessionEndBytes;
}

export const upgradedBytes = 8;
export function encodeUpgraded(
  view: DataView,
  off: number,
  s: { sidHi: number; sidLo: number },
): number {
  view.setUint32(off, s.sidHi, true);
  view.setUint32(off + 4, s.sidLo, true);
  return off + upgradedBytes;
}

// ---- decoders: flyweights filled in place ---------------------------------------------------

export function readString(buf: Uint8Array, view: DataView, off: number): string {
  const n = view.getUint32(off, true);
  return asBuffer(buf).toString('utf8', off + u32, off + u32 + n);
}
function stringEnd(view: DataView, off: number): number {
  return off + u32 + view.getUint32(off, true);
}

/** request / reply: the header fields; the body is [bodyOffset, end). */
export class RequestView {
  sidHi = 0;
  sidLo = 0;
  xid = 0;
  op = 0;
  flags = 0;
  timeoutMs = 0;
  bodyOffset = 0;
  end = 0;
  read(view: DataView, off: number, bytes: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.xid = view.getInt32(off + 8, true);
    this.op = view.getInt32(off + 12, true);
    this.flags = view.getUint32(off + 16, true);
    this.timeoutMs = view.getUint32(off + 20, true);
    this.bodyOffset = off + requestHeaderBytes;
    this.end = off + bytes;
    return this;
  }
}

export class ReplyView {
  sidHi = 0;
  sidLo = 0;
  xid = 0;
  err = 0;
  zxid = 0;
  flags = 0;
  bodyOffset = 0;
  end = 0;
  read(view: DataView, off: number, bytes: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.xid = view.getInt32(off + 8, true);
    this.err = view.getInt32(off + 12, true);
    this.zxid = view.getFloat64(off + 16, true);
    this.flags = view.getUint32(off + 24, true);
    this.bodyOffset = off + replyHeaderBytes;
    this.end = off + bytes;
    return this;
  }
}

export class AttachView implements AttachFields {
  sidHi = 0;
  sidLo = 0;
  flags = 0;
  timeoutMs = 0;
  lastZxidSeen = 0;
  connId = 0;
  passwdOk = false;
  ip = '';
  read(buf: Uint8Array, view: DataView, off: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.flags = view.getUint32(off + 8, true);
    this.timeoutMs = view.getUint32(off + 12, true);
    this.lastZxidSeen = view.getFloat64(off + 16, true);
    this.connId = view.getUint32(off + 24, true);
    this.passwdOk = view.getUint32(off + 28, true) === 1;
    this.ip = readString(buf, view, off + attachHeaderBytes);
    return this;
  }
}

export class DetachView {
  sidHi = 0;
  sidLo = 0;
  connId = 0;
  reason = 0;
  read(view: DataView, off: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.connId = view.getUint32(off + 8, true);
    this.reason = view.getUint32(off + 12, true);
    return this;
  }
}

export class AuthView {
  sidHi = 0;
  sidLo = 0;
  scheme = '';
  id = '';
  read(buf: Uint8Array, view: DataView, off: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.scheme = readString(buf, view, off + 8);
    this.id = readString(buf, view, stringEnd(view, off + 8));
    return this;
  }
}

export class AttachedView {
  sidHi = 0;
  sidLo = 0;
  connId = 0;
  err = 0;
  timeoutMs = 0;
  flags = 0;
  read(view: DataView, off: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.connId = view.getUint32(off + 8, true);
    this.err = view.getInt32(off + 12, true);
    this.timeoutMs = view.getUint32(off + 16, true);
    this.flags = view.getUint32(off + 20, true);
    return this;
  }
}

export class EventView {
  targetHi = 0;
  targetLo = 0;
  type = 0;
  zxid = 0;
  path = '';
  /** null: every watcher may see it; else only the sessions these admit (and super ones). */
  readers: EventReaders | null = null;
  readonly #digestIds: string[] = [];
  readonly #ipIds: string[] = [];
  readonly #readers: EventReaders = { digestIds: this.#digestIds, ipIds: this.#ipIds };
  read(buf: Uint8Array, view: DataView, off: number): this {
    this.targetHi = view.getUint32(off, true);
    this.targetLo = view.getUint32(off + 4, true);
    this.type = view.getInt32(off + 8, true);
    const flags = view.getUint32(off + 12, true);
    this.zxid = view.getFloat64(off + 16, true);
    this.path = readString(buf, view, off + 24);
    if ((flags & EventFlag.restricted) === 0) {
      this.readers = null;
      return this;
    }
    let at = stringEnd(view, off + 24);
    const digests = view.getUint16(at, true);
    const ips = view.getUint16(at + 2, true);
    at += 4;
    this.#digestIds.length = 0;
    this.#ipIds.length = 0;
    for (let i = 0; i < digests; i++, at = stringEnd(view, at)) this.#digestIds.push(readString(buf, view, at));
    for (let i = 0; i < ips; i++, at = stringEnd(view, at)) this.#ipIds.push(readString(buf, view, at));
    this.readers = this.#readers;
    return this;
  }
}

export class WatchRegisterView {
  sidHi = 0;
  sidLo = 0;
  kind = 0;
  path = '';
  read(buf: Uint8Array, view: DataView, off: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.kind = view.getUint32(off + 8, true);
    this.path = readString(buf, view, off + 12);
    return this;
  }
}

export class SessionEndView {
  sidHi = 0;
  sidLo = 0;
  reason = 0;
  read(view: DataView, off: number): this {
    this.sidHi = view.getUint32(off, true);
    this.sidLo = view.getUint32(off + 4, true);
    this.reason = view.getUint32(off + 8, true);
    return this;
  }
}
