// Quorum codec, decode: one case per message out of a FlatBuffers Frame, with the bounds checks the
// FlatBuffers runtime lacks (every table, vector and string against the buffer's end).

import * as flatbuffers from 'flatbuffers';
import type { Msg } from '../../zab/messages.js';
import type { Segment } from '../../zab/log-view.js';
import * as fb from '../generated/quorum_generated.js';
import { authIdsMax, authStringBytesMax, clusterBytesMax, helloFieldBytesMax, touchSessionsMax } from '../limits.js';
import {
  type DecodedFrame,
  type ForwardAuthId,
  type ForwardMsg,
  fileIdentifier,
  type Hello,
  protocolVersion,
  QuorumCodecError,
  serverStateOfCode,
} from './types.js';

function bad(what: string): never {
  throw new QuorumCodecError(`malformed quorum frame: ${what}`);
}

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
  const state = serverStateOfCode.get(t.state());
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
    case fb.Body.Ping: {
      const session = num(union(frame, views.ping).leaveSession(), 'leave_session');
      return session === 0 ? { type: 'PING' } : { type: 'OBSERVERLEAVE', session };
    }
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
