// Quorum codec, encode: one case per message into a FlatBuffers Frame (one shared Builder), the
// checks that keep a peer's decoder from refusing what we send, and PROPOSAL / INFORM by template.

import * as flatbuffers from 'flatbuffers';
import { assert } from '../../../common/assert.js';
import type { Segment } from '../../zab/log-view.js';
import * as fb from '../generated/quorum_generated.js';
import { authIdsMax, authStringBytesMax, helloFieldBytesMax, payloadTemplatesMax, touchSessionsMax } from '../limits.js';
import {
  fileIdentifier,
  framePrefixBytes,
  type Hello,
  protocolVersion,
  QuorumCodecError,
  type QuorumMsg,
  serverStateCodes,
} from './types.js';

const builder = new flatbuffers.Builder(1024);
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
          serverStateCodes[msg.state],
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
    case 'OBSERVERLEAVE':
      // A PING with leave_session set: an older peer reads a PING (schemas/quorum.fbs).
      if (msg.session <= 0) throw new QuorumCodecError(`OBSERVERLEAVE of session ${msg.session}`);
      return [fb.Body.Ping, fb.Ping.createPing(b, long(msg.session, 'session'))];
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
