// size: one encode and one decode case per quorum message (schemas/quorum.fbs), each with the bounds checks the FlatBuffers runtime lacks; encode and decode could part.
// Quorum codec: the Zab core's plain messages (src/main/zab/messages.ts) to and from FlatBuffers
// frames (schemas/quorum.fbs, generated code under ./generated/). One Frame per TCP frame: the
// transport adds the u32 big-endian length prefix (encodeMessageFrame does both at once).
//
// Numbers travel as int64 and come back as JS numbers: anything outside the safe-integer range
// is refused on both sides (zxids fit while the epoch stays below 2^21, see common/ids.ts).
// The npm FlatBuffers runtime has no verifier and reads past the end of a buffer as zeros, so
// decode checks every table, vector and string it touches against the buffer's bounds itself:
// a malformed frame is a QuorumCodecError, never a wrong message and never another exception.

import * as flatbuffers from 'flatbuffers';
import { assert } from '../../common/assert.js';
import {
  authIdsMax,
  authStringBytesMax,
  clusterBytesMax,
  helloFieldBytesMax,
  payloadTemplatesMax,
  touchSessionsMax,
} from './limits.js';
import type { Msg, ServerState } from '../zab/messages.js';
import type { Segment } from '../zab/log-view.js';
import * as fb from './generated/quorum_generated.js';

/** Frame.version this build speaks; a peer with another one is refused at the handshake. */
export const protocolVersion = 1;
export const fileIdentifier = 'ZKQ1';
/** Bytes of the length prefix in front of each frame on the wire. */
export const framePrefixBytes = 4;

/** The transport's handshake (QuorumCnxManager's InitialMessage: the sender's sid). */
export interface Hello {
  readonly cluster: string;
  readonly sender: number;
  readonly receiver: number;
  /** The challenge (a quorum secret's handshake, transport.ts); empty without a secret. */
  readonly nonce: Uint8Array;
  /** The answer to the other side's challenge; empty without a secret. */
  readonly mac: Uint8Array;
}


/** One authenticated id of a session (ZooKeeper's Id). */
export interface ForwardAuthId {
  readonly scheme: string;
  readonly id: string;
}

/**
 * Request forwarding (not Zab messages: the driver handles them beside the Zab core).
 * REQUEST: learner → leader, a client write to order (Learner.request); the session id is the
 * unsigned 64-bit id (its top byte is the origin server's id, so it travels as a bigint).
 * REQUESTERROR: leader → learner, a REQUEST refused before it was proposed, or a forwarded sync
 * answered (err 0) with the zxid the learner must have applied before it answers its client.
 * TOUCH: learner → leader, each tick: the global sessions its clients touched.
 */
export type ForwardMsg =
  | {
      readonly type: 'REQUEST';
      readonly session: bigint;
      readonly cxid: number;
      readonly op: number;
      readonly body: Uint8Array;
      readonly authIds: readonly ForwardAuthId[];
      readonly timeoutMs: number;
      readonly local: boolean;
    }
  | {
      readonly type: 'REQUESTERROR';
      readonly session: bigint;
      readonly cxid: number;
      readonly err: number;
      /** A sync's answer (err 0): the leader's last proposed zxid; else 0. */
      readonly zxid: number;
    }
  | { readonly type: 'TOUCH'; readonly sessions: readonly bigint[] };

/** Everything the transport carries after the handshake. */
export type QuorumMsg = Msg | ForwardMsg;

export type DecodedFrame =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'message'; readonly msg: Msg }
  | { readonly kind: 'forward'; readonly msg: ForwardMsg }
  /** A leading piece of the next SNAP's data (transport.ts reassembles; never a Msg). */
  | { readonly kind: 'snapChunk'; readonly data: Uint8Array };

/** A frame that is not a well-formed Frame of this protocol version (an operating error). */
export class QuorumCodecError extends Error {
  readonly code = 'ZKTS_ERR_QUORUM_FRAME';
}

function bad(what: string): never {
  throw new QuorumCodecError(`malformed quorum frame: ${what}`);
}

// ---- encode ----

const builder = new flatbuffers.Builder(1024);
const stateCodes: Record<ServerState, fb.ServerState> = {
  LOOKING: fb.ServerState.LOOKING,
  FOLLOWING: fb.ServerState.FOLLOWING,
  LEADING: fb.ServerState.LEADING,
  OBSERVING: fb.ServerState.OBSERVING,
};
const stateNames: readonly ServerState[] = ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'];

function long(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n)) throw new QuorumCodecError(`${what} is not a safe integer: ${n}`);
  return BigInt(n);
}

function encodeSegments(b: flatbuffers.Builder, segments: readonly Segment[]): number {
  fb.AckEpoch.startSegmentsVector(b, segments.length);
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    fb.Segment.createSegment(b, long(s.epoch, 'segment epoch'), long(s.lastZxid, 'segment zxid'));
  }
  return b.endVector();
}

function int32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) throw new QuorumCodecError(`${what} is not an int32: ${n}`);
  return n;
}

function sessionLong(id: bigint): bigint {
  if (id < -(1n << 63n) || id >= 1n << 64n) throw new QuorumCodecError(`session ${id} is not a 64-bit id`);
  return BigInt.asIntN(64, id);
}

/** Writes msg's body table into b; returns [union type, offset]. */
function encodeBody(b: flatbuffers.Builder, msg: QuorumMsg): [fb.Body, number] {
  switch (msg.type) {
    case 'REQUEST': {
      // What the peer's decoder refuses is never sent (it would close the link at each resend).
      if (msg.authIds.length > authIdsMax) throw new QuorumCodecError(`${msg.authIds.length} auth ids over authIdsMax ${authIdsMax}`);
      for (const a of msg.authIds) {
        if (Buffer.byteLength(a.scheme) > authStringBytesMax || Buffer.byteLength(a.id) > authStringBytesMax) {
          throw new QuorumCodecError(`an auth id over authStringBytesMax ${authStringBytesMax}`);
        }
      }
      const body = b.createByteVector(msg.body);
      const ids = msg.authIds.map((a) => {
        const scheme = b.createString(a.scheme);
        const id = b.createString(a.id);
        return fb.AuthId.createAuthId(b, scheme, id);
      });
      const auth = fb.Request.createAuthVector(b, ids);
      return [
        fb.Body.Request,
        fb.Request.createRequest(
          b,
          sessionLong(msg.session),
          int32(msg.cxid, 'cxid'),
          int32(msg.op, 'op'),
          body,
          auth,
          int32(msg.timeoutMs, 'timeoutMs'),
          msg.local,
        ),
      ];
    }
    case 'TOUCH': {
      if (msg.sessions.length > touchSessionsMax) throw new QuorumCodecError(`${msg.sessions.length} touched sessions over touchSessionsMax`);
      const sessions = fb.Touch.createSessionsVector(b, msg.sessions.map(sessionLong));
      return [fb.Body.Touch, fb.Touch.createTouch(b, sessions)];
    }
    case 'REQUESTERROR':
      return [
        fb.Body.RequestError,
        fb.RequestError.createRequestError(
          b,
          sessionLong(msg.session),
          int32(msg.cxid, 'cxid'),
          int32(msg.err, 'err'),
          long(msg.zxid, 'zxid'),
        ),
      ];
    case 'NOTIFICATION':
      return [
        fb.Body.Notification,
        fb.Notification.createNotification(
          b,
          long(msg.leader, 'leader'),
          long(msg.zxid, 'zxid'),
          long(msg.peerEpoch, 'peerEpoch'),
          long(msg.electionEpoch, 'electionEpoch'),
          stateCodes[msg.state],
        ),
      ];
    case 'FOLLOWERINFO':
    case 'OBSERVERINFO': {
      const epoch = long(msg.acceptedEpoch, 'acceptedEpoch');
      const session = long(msg.session, 'session');
      return msg.type === 'FOLLOWERINFO'
        ? [fb.Body.FollowerInfo, fb.FollowerInfo.createFollowerInfo(b, epoch, session)]
        : [fb.Body.ObserverInfo, fb.ObserverInfo.createObserverInfo(b, epoch, session)];
    }
    case 'LEADERINFO':
      return [
        fb.Body.LeaderInfo,
        fb.LeaderInfo.createLeaderInfo(b, long(msg.epoch, 'epoch'), long(msg.session, 'session')),
      ];
    case 'ACKEPOCH': {
      const segments = encodeSegments(b, msg.segments);
      return [
        fb.Body.AckEpoch,
        fb.AckEpoch.createAckEpoch(
          b,
          long(msg.session, 'session'),
          long(msg.currentEpoch, 'currentEpoch'),
          long(msg.lastZxid, 'lastZxid'),
          segments,
          long(msg.snapshotZxid, 'snapshotZxid'),
        ),
      ];
    }
    case 'DIFF':
      return [fb.Body.Diff, fb.Diff.createDiff(b, long(msg.zxid, 'zxid'))];
    case 'TRUNC':
      return [fb.Body.Trunc, fb.Trunc.createTrunc(b, long(msg.zxid, 'zxid'))];
    case 'SNAP': {
      const data = b.createByteVector(msg.data);
      return [fb.Body.Snap, fb.Snap.createSnap(b, long(msg.zxid, 'zxid'), data)];
    }
    case 'PROPOSAL': {
      const payload = b.createByteVector(msg.payload);
      return [fb.Body.Proposal, fb.Proposal.createProposal(b, long(msg.zxid, 'zxid'), payload)];
    }
    case 'NEWLEADER':
      return [
        fb.Body.NewLeader,
        fb.NewLeader.createNewLeader(b, long(msg.epoch, 'epoch'), long(msg.zxid, 'zxid')),
      ];
    case 'ACKNEWLEADER':
      return [
        fb.Body.AckNewLeader,
        fb.AckNewLeader.createAckNewLeader(b, long(msg.epoch, 'epoch')),
      ];
    case 'ACK':
      return [fb.Body.Ack, fb.Ack.createAck(b, long(msg.zxid, 'zxid'))];
    case 'COMMIT':
      return [fb.Body.Commit, fb.Commit.createCommit(b, long(msg.zxid, 'zxid'))];
    case 'INFORM': {
      const payload = b.createByteVector(msg.payload);
      return [fb.Body.Inform, fb.Inform.createInform(b, long(msg.zxid, 'zxid'), payload)];
    }
    case 'UPTODATE':
      return [fb.Body.UpToDate, fb.UpToDate.createUpToDate(b, long(msg.commitZxid, 'commitZxid'))];
    case 'PING':
      fb.Ping.startPing(b);
      return [fb.Body.Ping, fb.Ping.endPing(b)];
  }
}

function encodeHelloBody(b: flatbuffers.Builder, hello: Hello): [fb.Body, number] {
  if (hello.nonce.length > helloFieldBytesMax || hello.mac.length > helloFieldBytesMax) throw new QuorumCodecError('Hello nonce or mac too long');
  const nonce = hello.nonce.length > 0 ? b.createByteVector(hello.nonce) : 0;
  const mac = hello.mac.length > 0 ? b.createByteVector(hello.mac) : 0;
  const cluster = b.createString(hello.cluster);
  const sender = long(hello.sender, 'sender');
  const receiver = long(hello.receiver, 'receiver');
  return [fb.Body.Hello, fb.Hello.createHello(b, cluster, sender, receiver, nonce, mac)];
}

/** Builds one Frame in the shared builder; returns a view that the next encode overwrites. */
function build(body: QuorumMsg | Hello): Uint8Array {
  const b = builder;
  b.clear();
  const [type, offset] = 'type' in body ? encodeBody(b, body) : encodeHelloBody(b, body);
  const frame = fb.Frame.createFrame(b, protocolVersion, type, offset);
  b.finish(frame, fileIdentifier);
  return b.asUint8Array();
}

function copyPrefixed(view: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(framePrefixBytes + view.length);
  out.writeUInt32BE(view.length, 0);
  out.set(view, framePrefixBytes);
  return out;
}

/** One Frame holding msg (a fresh copy, without the length prefix). */
export function encodeMessage(msg: QuorumMsg): Uint8Array {
  return build(msg).slice();
}

/** u32 BE length + Frame, ready for the socket. */
export function encodeMessageFrame(msg: QuorumMsg): Buffer {
  if (msg.type === 'PROPOSAL' || msg.type === 'INFORM') return payloadFrame(msg);
  return copyPrefixed(build(msg));
}

// ---- PROPOSAL / INFORM by template ----
//
// The leader encodes two of these per txn (PROPOSAL to the followers, INFORM to the observers);
// through the Builder that was ~10% of its main thread under write load (calls and BigInts, not
// bytes). The Builder's output for a given body type and payload length is always the same
// layout (alignment counts from the buffer's end; nothing depends on the values, as long as the
// zxid is non-zero so the field is written): so the library builds one frame per length, we
// locate the zxid and the payload in it with the library's reader, and later frames of that
// length are a copy of it with those two patched. codec.test.ts checks the bytes are the
// Builder's for every length and many zxids.

interface PayloadTemplate {
  readonly frame: Buffer;
  readonly zxidAt: number;
  readonly payloadAt: number;
}

type PayloadMsg = Extract<QuorumMsg, { type: 'PROPOSAL' | 'INFORM' }>;

const payloadTemplates = { PROPOSAL: new Map<number, PayloadTemplate>(), INFORM: new Map<number, PayloadTemplate>() };

function payloadFrame(msg: PayloadMsg): Buffer {
  const n = msg.payload.length;
  const zxid = msg.zxid;
  // zxid 0 would leave the field out (its default), and an empty payload is not worth a template.
  if (!Number.isSafeInteger(zxid) || zxid <= 0 || n === 0) return copyPrefixed(build(msg));
  const cache = payloadTemplates[msg.type];
  let t = cache.get(n);
  if (t === undefined) {
    if (cache.size >= payloadTemplatesMax) cache.clear();
    t = payloadTemplate(msg.type, n);
    cache.set(n, t);
  }
  const out = Buffer.allocUnsafe(t.frame.length);
  t.frame.copy(out, 0);
  out.writeUInt32LE(zxid >>> 0, t.zxidAt);
  out.writeUInt32LE(Math.floor(zxid / 0x100000000), t.zxidAt + 4);
  out.set(msg.payload, t.payloadAt);
  return out;
}

function payloadTemplate(type: PayloadMsg['type'], n: number): PayloadTemplate {
  const frame = copyPrefixed(build({ type, zxid: 1, payload: new Uint8Array(n) }));
  const body = frame.subarray(framePrefixBytes);
  const root = fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(body), new fb.Frame());
  const table = type === 'PROPOSAL' ? root.body(new fb.Proposal()) : root.body(new fb.Inform());
  assert(table !== null, 'template has a body');
  const bb = table.bb!;
  const zxidAt = framePrefixBytes + table.bb_pos + bb.__offset(table.bb_pos, 4);
  const payload = table.payloadArray();
  assert(payload !== null && payload.length === n, 'template payload');
  const payloadAt = framePrefixBytes + (payload.byteOffset - body.byteOffset);
  assert(frame.readBigInt64LE(zxidAt) === 1n, 'template zxid found');
  return { frame, zxidAt, payloadAt };
}

/** u32 BE length + a SnapChunk Frame carrying `data` (a leading piece of a SNAP's data). */
export function encodeSnapChunkFrame(data: Uint8Array): Buffer {
  const b = builder;
  b.clear();
  const vector = b.createByteVector(data);
  const chunk = fb.SnapChunk.createSnapChunk(b, vector);
  b.finish(fb.Frame.createFrame(b, protocolVersion, fb.Body.SnapChunk, chunk), fileIdentifier);
  return copyPrefixed(b.asUint8Array());
}

export function encodeHello(hello: Hello): Uint8Array {
  return build(hello).slice();
}

export function encodeHelloFrame(hello: Hello): Buffer {
  return copyPrefixed(build(hello));
}

// ---- decode ----

function num(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    bad(`${what} out of safe-integer range`);
  }
  return Number(v);
}

/** A table at pos: its vtable and its inline fields lie inside the buffer. */
function checkTable(bb: flatbuffers.ByteBuffer, pos: number): void {
  const n = bb.capacity();
  if (pos < 0 || pos + 4 > n) bad('table outside buffer');
  const vt = pos - bb.readInt32(pos);
  if (vt < 0 || vt + 4 > n) bad('vtable outside buffer');
  const vtBytes = bb.readUint16(vt);
  const tableBytes = bb.readUint16(vt + 2);
  if (vtBytes < 4 || vtBytes % 2 !== 0 || vt + vtBytes > n) bad('vtable size');
  if (tableBytes < 4 || pos + tableBytes > n) bad('table size');
  for (let o = 4; o < vtBytes; o += 2) {
    const field = bb.readUint16(vt + o);
    if (field !== 0 && (field < 4 || field >= tableBytes)) bad('field outside table');
  }
}

/** The vector (or string) in the field at vtable slot `slot` lies inside the buffer. */
function checkVector(
  bb: flatbuffers.ByteBuffer,
  pos: number,
  slot: number,
  elemBytes: number,
): void {
  const field = bb.__offset(pos, slot);
  if (field === 0) return;
  const at = pos + field;
  const vec = at + bb.readUint32(at);
  if (vec + 4 > bb.capacity()) bad('vector outside buffer');
  const count = bb.readUint32(vec);
  if (vec + 4 + count * elemBytes > bb.capacity()) bad('vector outside buffer');
}

function union<T extends { bb_pos: number }>(frame: fb.Frame, view: T): T {
  const t = frame.body(view) as T | null;
  if (t === null) bad('no body');
  checkTable(frame.bb!, t.bb_pos);
  return t;
}

function payloadOf(arr: Uint8Array | null): Uint8Array {
  // A view, not a copy (a fresh array per txn was 3-5% of a learner's main thread). Safe because
  // nothing writes to a frame's bytes once read: FrameReader hands out socket chunks (fresh per
  // read) or a Buffer.concat of them, never a reused buffer. A payload pins its chunk (at most
  // 64 KiB, mostly other payloads of the same stream), and log entries are dropped oldest first;
  // whoever keeps a payload's bytes for another lifetime copies them (the tree's data does).
  return arr === null ? new Uint8Array(0) : arr;
}

// Reused flyweight views: decoding allocates only the message it returns.
const views = {
  frame: new fb.Frame(),
  hello: new fb.Hello(),
  notification: new fb.Notification(),
  followerInfo: new fb.FollowerInfo(),
  observerInfo: new fb.ObserverInfo(),
  leaderInfo: new fb.LeaderInfo(),
  ackEpoch: new fb.AckEpoch(),
  diff: new fb.Diff(),
  trunc: new fb.Trunc(),
  proposal: new fb.Proposal(),
  newLeader: new fb.NewLeader(),
  ackNewLeader: new fb.AckNewLeader(),
  ack: new fb.Ack(),
  commit: new fb.Commit(),
  inform: new fb.Inform(),
  upToDate: new fb.UpToDate(),
  ping: new fb.Ping(),
  snap: new fb.Snap(),
  snapChunk: new fb.SnapChunk(),
  segment: new fb.Segment(),
  request: new fb.Request(),
  requestError: new fb.RequestError(),
  touch: new fb.Touch(),
  authId: new fb.AuthId(),
};


function decodeForward(frame: fb.Frame, type: fb.Body): ForwardMsg {
  if (type === fb.Body.Touch) {
    const t = union(frame, views.touch);
    checkVector(frame.bb!, t.bb_pos, 4, 8);
    const count = t.sessionsLength();
    if (count > touchSessionsMax) bad(`${count} touched sessions`);
    const sessions: bigint[] = [];
    for (let i = 0; i < count; i++) sessions.push(BigInt.asUintN(64, t.sessions(i) ?? 0n));
    return { type: 'TOUCH', sessions };
  }
  if (type === fb.Body.RequestError) {
    const t = union(frame, views.requestError);
    return {
      type: 'REQUESTERROR',
      session: BigInt.asUintN(64, t.session()),
      cxid: t.cxid(),
      err: t.err(),
      zxid: num(t.zxid(), 'zxid'),
    };
  }
  const bb = frame.bb!;
  const t = union(frame, views.request);
  checkVector(bb, t.bb_pos, 10, 1);
  checkVector(bb, t.bb_pos, 12, 4);
  const count = t.authLength();
  if (count > authIdsMax) bad(`${count} auth ids`);
  const authIds: ForwardAuthId[] = [];
  const fieldAt = t.bb_pos + bb.__offset(t.bb_pos, 12);
  for (let i = 0; i < count; i++) {
    const slot = bb.__vector(fieldAt) + i * 4;
    const pos = slot + bb.readUint32(slot);
    checkTable(bb, pos);
    const a = views.authId.__init(pos, bb);
    checkVector(bb, pos, 4, 1);
    checkVector(bb, pos, 6, 1);
    const scheme = a.scheme() ?? '';
    const id = a.id() ?? '';
    if (Buffer.byteLength(scheme) > authStringBytesMax || Buffer.byteLength(id) > authStringBytesMax) bad('auth id too long');
    authIds.push({ scheme, id });
  }
  return {
    type: 'REQUEST',
    session: BigInt.asUintN(64, t.session()),
    cxid: t.cxid(),
    op: t.op(),
    body: payloadOf(t.bodyArray()),
    authIds,
    timeoutMs: t.timeoutMs(),
    local: t.local(),
  };
}

function decodeHello(frame: fb.Frame): Hello {
  const t = union(frame, views.hello);
  checkVector(frame.bb!, t.bb_pos, 4, 1);
  checkVector(frame.bb!, t.bb_pos, 10, 1);
  checkVector(frame.bb!, t.bb_pos, 12, 1);
  const cluster = t.cluster() ?? '';
  if (cluster.length > clusterBytesMax) bad('cluster name too long');
  const nonce = (t.nonceArray() ?? new Uint8Array(0)).slice();
  const mac = (t.macArray() ?? new Uint8Array(0)).slice();
  if (nonce.length > helloFieldBytesMax || mac.length > helloFieldBytesMax) bad('Hello nonce or mac too long');
  return { cluster, sender: num(t.sender(), 'sender'), receiver: num(t.receiver(), 'receiver'), nonce, mac };
}

function decodeAckEpoch(frame: fb.Frame): Msg {
  const t = union(frame, views.ackEpoch);
  checkVector(frame.bb!, t.bb_pos, 10, 16);
  const segments: Segment[] = [];
  const count = t.segmentsLength();
  for (let i = 0; i < count; i++) {
    const s = t.segments(i, views.segment)!;
    segments.push({ epoch: num(s.epoch(), 'segment epoch'), lastZxid: num(s.lastZxid(), 'zxid') });
  }
  return {
    type: 'ACKEPOCH',
    session: num(t.session(), 'session'),
    currentEpoch: num(t.currentEpoch(), 'currentEpoch'),
    lastZxid: num(t.lastZxid(), 'lastZxid'),
    snapshotZxid: num(t.snapshotZxid(), 'snapshotZxid'),
    segments,
  };
}

function decodeNotification(frame: fb.Frame): Msg {
  const t = union(frame, views.notification);
  const state = stateNames[t.state()];
  if (state === undefined) bad(`server state ${t.state()}`);
  return {
    type: 'NOTIFICATION',
    leader: num(t.leader(), 'leader'),
    zxid: num(t.zxid(), 'zxid'),
    peerEpoch: num(t.peerEpoch(), 'peerEpoch'),
    electionEpoch: num(t.electionEpoch(), 'electionEpoch'),
    state,
  };
}

function decodeMsg(frame: fb.Frame, type: fb.Body): Msg {
  switch (type) {
    case fb.Body.Notification:
      return decodeNotification(frame);
    case fb.Body.FollowerInfo: {
      const t = union(frame, views.followerInfo);
      const acceptedEpoch = num(t.acceptedEpoch(), 'acceptedEpoch');
      return { type: 'FOLLOWERINFO', acceptedEpoch, session: num(t.session(), 'session') };
    }
    case fb.Body.ObserverInfo: {
      const t = union(frame, views.observerInfo);
      const acceptedEpoch = num(t.acceptedEpoch(), 'acceptedEpoch');
      return { type: 'OBSERVERINFO', acceptedEpoch, session: num(t.session(), 'session') };
    }
    case fb.Body.LeaderInfo: {
      const t = union(frame, views.leaderInfo);
      const epoch = num(t.epoch(), 'epoch');
      return { type: 'LEADERINFO', epoch, session: num(t.session(), 'session') };
    }
    case fb.Body.AckEpoch:
      return decodeAckEpoch(frame);
    case fb.Body.Diff:
      return { type: 'DIFF', zxid: num(union(frame, views.diff).zxid(), 'zxid') };
    case fb.Body.Trunc:
      return { type: 'TRUNC', zxid: num(union(frame, views.trunc).zxid(), 'zxid') };
    case fb.Body.Snap: {
      const t = union(frame, views.snap);
      checkVector(frame.bb!, t.bb_pos, 6, 1);
      return { type: 'SNAP', zxid: num(t.zxid(), 'zxid'), data: payloadOf(t.dataArray()) };
    }
    case fb.Body.Proposal: {
      const t = union(frame, views.proposal);
      checkVector(frame.bb!, t.bb_pos, 6, 1);
      const payload = payloadOf(t.payloadArray());
      return { type: 'PROPOSAL', zxid: num(t.zxid(), 'zxid'), payload };
    }
    case fb.Body.NewLeader: {
      const t = union(frame, views.newLeader);
      return { type: 'NEWLEADER', epoch: num(t.epoch(), 'epoch'), zxid: num(t.zxid(), 'zxid') };
    }
    case fb.Body.AckNewLeader: {
      const epoch = num(union(frame, views.ackNewLeader).epoch(), 'epoch');
      return { type: 'ACKNEWLEADER', epoch };
    }
    case fb.Body.Ack:
      return { type: 'ACK', zxid: num(union(frame, views.ack).zxid(), 'zxid') };
    case fb.Body.Commit:
      return { type: 'COMMIT', zxid: num(union(frame, views.commit).zxid(), 'zxid') };
    case fb.Body.Inform: {
      const t = union(frame, views.inform);
      checkVector(frame.bb!, t.bb_pos, 6, 1);
      return { type: 'INFORM', zxid: num(t.zxid(), 'zxid'), payload: payloadOf(t.payloadArray()) };
    }
    case fb.Body.UpToDate: {
      const commitZxid = num(union(frame, views.upToDate).commitZxid(), 'commitZxid');
      return { type: 'UPTODATE', commitZxid };
    }
    case fb.Body.Ping:
      union(frame, views.ping);
      return { type: 'PING' };
    default:
      return bad(`body type ${type}`);
  }
}

function decodeUnchecked(bytes: Uint8Array): DecodedFrame {
  if (bytes.length < 12) bad(`${bytes.length} bytes`);
  const bb = new flatbuffers.ByteBuffer(bytes);
  if (!bb.__has_identifier(fileIdentifier)) bad('file identifier');
  const frame = fb.Frame.getRootAsFrame(bb, views.frame);
  checkTable(bb, frame.bb_pos);
  const version = frame.version();
  if (version !== protocolVersion) bad(`protocol version ${version}, expected ${protocolVersion}`);
  const type = frame.bodyType();
  if (type === fb.Body.Hello) return { kind: 'hello', hello: decodeHello(frame) };
  if (type === fb.Body.SnapChunk) {
    const t = union(frame, views.snapChunk);
    checkVector(frame.bb!, t.bb_pos, 4, 1);
    // A view into the frame: the transport copies it into the reassembly at once.
    return { kind: 'snapChunk', data: t.dataArray() ?? new Uint8Array(0) };
  }
  if (type === fb.Body.Request || type === fb.Body.RequestError || type === fb.Body.Touch) {
    return { kind: 'forward', msg: decodeForward(frame, type) };
  }
  return { kind: 'message', msg: decodeMsg(frame, type) };
}

/** Decodes one Frame (without the length prefix). Throws QuorumCodecError, nothing else. */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  try {
    return decodeUnchecked(bytes);
  } catch (err) {
    if (err instanceof QuorumCodecError) throw err;
    throw new QuorumCodecError(`malformed quorum frame: ${(err as Error).message}`);
  }
}

/** Decodes one Frame that must hold a Zab message. The result never aliases `bytes`. */
export function decodeMessage(bytes: Uint8Array): Msg {
  const f = decodeFrame(bytes);
  if (f.kind !== 'message') bad(`a ${f.kind} frame where a Zab message was expected`);
  return f.msg;
}

/** Decodes one Frame that must hold a forwarding message (REQUEST / REQUESTERROR / TOUCH). */
export function decodeForwardMessage(bytes: Uint8Array): ForwardMsg {
  const f = decodeFrame(bytes);
  if (f.kind !== 'forward') bad(`a ${f.kind} frame where a forwarding message was expected`);
  return f.msg;
}
