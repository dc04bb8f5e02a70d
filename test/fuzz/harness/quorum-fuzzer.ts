// The quorum fuzzer (issue 9, item 12): hostile frames against the quorum codec and the
// driver's message handling, seeded and deterministic. Each frame is one of
//   - random bytes, or a valid Frame of any body type (Zab messages, forwarding, Hello,
//     SnapChunk) with fields drawn near what the target's state makes interesting (its last
//     zxid +-1, its epochs +-1, the largest epoch, negative values), or such a frame mutated
//     (bytes flipped, cut, extended, u32s overwritten), or a real message of the running
//     ensemble delivered again, to another member, or as if from another member (valid
//     frames in impossible orders);
// and goes where the production driver sends it: through a FrameReader in random chunks
// (the handshake bound, then the open bound), decodeFrame, the driver's arrival checks
// (decodeProposalPayload for PROPOSAL / INFORM payloads, verifySeals for SNAP images) and
// ZabPeer.step of a member of a live 3-voter + 1-observer ensemble (test/main/zab/harness/env.ts) that
// keeps electing, syncing and committing between the hostile frames. A rejection
// (Ready.rejected) closes that link as the driver does: peerDown on both sides, the messages
// in flight between them dropped, then peerUp. Anything thrown other than a QuorumCodecError
// from decodeFrame is a crash; the run counts them (with the first one's seed and frame) and
// goes on with a fresh ensemble.

import { zxidEpochMax, zxidOf } from '../../../src/common/ids.js';
import { JuteWriter, encodeTxn, encodeTxnHeader } from '../../../src/protocol/jute/index.js';
import type { Txn } from '../../../src/protocol/types.js';
import { decodeProposalPayload } from '../../../src/main/ensemble/txn-payload.js';
import {
  type DecodedFrame,
  type QuorumMsg,
  QuorumCodecError,
  decodeFrame,
  encodeHelloFrame,
  encodeMessageFrame,
  encodeSnapChunkFrame,
  framePrefixBytes,
} from '../../../src/main/net/codec.js';
import { FrameReader } from '../../../src/protocol/frame-reader.js';
import { handshakeFrameBytesMax } from '../../../src/main/net/limits.js';
import type { Msg, ServerState } from '../../../src/main/zab/messages.js';
import { verifySeals } from '../../../src/main/storage/snapshot-format.js';
import { SimPrng } from '../../sim/prng.js';
import { Env } from '../../main/zab/harness/env.js';

export interface QuorumFuzzOptions {
  readonly seed: number;
  /** Hostile frames to send. */
  readonly frames: number;
  /** Called every `progressEvery` frames (the bench prints a line). */
  readonly onProgress?: (stats: QuorumFuzzStats) => void;
  readonly progressEvery?: number;
}

export interface QuorumFuzzStats {
  frames: number;
  /** Refused by the frame reader (bad length) or the codec (QuorumCodecError). */
  refusedByCodec: number;
  /** Refused by the driver's arrival checks (payload, snapshot image). */
  refusedByDriver: number;
  /** Decoded and stepped into a member; of those, how many it rejected (link closed). */
  stepped: number;
  rejected: number;
  /** Decoded forwarding / Hello / SnapChunk frames (handled by the transport and driver gates). */
  otherDecoded: number;
  /** Real messages of the ensemble delivered between hostile frames. */
  delivered: number;
  /** Elections the ensemble went through (role events), fresh ensembles after a crash. */
  roleChanges: number;
  crashes: number;
  firstCrash: string | null;
}

const voters = 3;
const observers = 1;
const ids = [1, 2, 3, 4];
const msgTypes: Msg['type'][] = [
  'NOTIFICATION', 'FOLLOWERINFO', 'OBSERVERINFO', 'LEADERINFO', 'ACKEPOCH', 'DIFF', 'TRUNC', 'SNAP',
  'PROPOSAL', 'NEWLEADER', 'ACKNEWLEADER', 'ACK', 'COMMIT', 'INFORM', 'UPTODATE', 'PING', 'OBSERVERLEAVE',
];
const states: ServerState[] = ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'];

/** A fresh ensemble, elected and with a few txns committed. */
function freshEnsemble(): Env {
  const env = new Env();
  env.peers(voters, observers);
  env.stabilize(new Set());
  return env;
}

/** Payloads: a few real txns (as the leader's driver encodes them) for the payload check. */
function txnPayload(prng: SimPrng, zxid: number): Uint8Array {
  const txns: Txn[] = [
    { type: 1, path: `/n${prng.nextInt(100)}`, data: new Uint8Array(prng.nextInt(40)), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: prng.chance(0.3), parentCVersion: prng.nextInt(10) },
    { type: 2, path: `/n${prng.nextInt(100)}` },
    { type: 5, path: '/a', data: new Uint8Array([1, 2, 3]), version: prng.nextInt(5) },
    { type: -10, timeOut: 30_000 },
    { type: -11, paths2Delete: ['/e1', '/e2'] },
    { type: -1, err: -101 },
  ];
  const txn = txns[prng.nextInt(txns.length)]!;
  const out = new JuteWriter(256);
  encodeTxnHeader(out, { clientId: BigInt(prng.nextU32()), cxid: prng.nextInt(1000), zxid, time: 1_700_000_000_000, type: txn.type });
  encodeTxn(out, txn);
  return out.bytes().slice();
}

export class QuorumFuzzer {
  readonly stats: QuorumFuzzStats = {
    frames: 0, refusedByCodec: 0, refusedByDriver: 0, stepped: 0, rejected: 0, otherDecoded: 0,
    delivered: 0, roleChanges: 0, crashes: 0, firstCrash: null,
  };
  private readonly prng: SimPrng;
  private env: Env;
  /** Real messages seen in flight (for replays), a bounded ring. */
  private readonly seen: { from: number; to: number; msg: Msg }[] = [];

  constructor(readonly options: QuorumFuzzOptions) {
    this.prng = new SimPrng(options.seed);
    this.env = freshEnsemble();
  }

  run(): QuorumFuzzStats {
    const every = this.options.progressEvery ?? 100_000;
    while (this.stats.frames < this.options.frames) {
      this.background();
      this.hostileFrame();
      if (this.options.onProgress !== undefined && this.stats.frames % every === 0) this.options.onProgress(this.stats);
    }
    return this.stats;
  }

  // ---- the ensemble between hostile frames ----

  private background(): void {
    const p = this.prng;
    const env = this.env;
    try {
      const n = p.nextInt(4);
      for (let i = 0; i < n; i++) {
        const r = p.nextInt(10);
        if (r < 6) {
          const queue = (env as unknown as { queue: { from: number; to: number; msg: Msg }[] }).queue;
          if (queue.length > 0) {
            const m = queue[0]!;
            this.remember(m);
            env.deliverOne();
            this.stats.delivered++;
          }
        } else if (r < 8) {
          env.persist(ids[p.nextInt(ids.length)]!);
        } else if (r < 9) {
          env.step(ids[p.nextInt(ids.length)]!, { kind: 'tick' });
        } else {
          const leader = [...env.nodes.values()].find((x) => x.peer.canPropose());
          if (leader !== undefined) env.step(leader.id, { kind: 'propose', payload: new TextEncoder().encode(`v${this.stats.frames}`) });
        }
      }
      this.settleOutput();
    } catch (e) {
      this.crash('background', e);
    }
  }

  private remember(m: { from: number; to: number; msg: Msg }): void {
    if (this.seen.length >= 256) this.seen.splice(0, 64);
    this.seen.push(m);
  }

  /** Keeps env.out bounded; counts role changes; closes rejected links. */
  private settleOutput(): void {
    const out = this.env.out;
    for (let i = 0; i < out.length; i++) {
      const line = out[i]!;
      if (line.includes(' role ')) this.stats.roleChanges++;
      const m = / rejects \w+ from (\d+):/.exec(line);
      if (m !== null) {
        this.stats.rejected++;
        const node = Number(/^n(\d+)/.exec(line)![1]);
        this.closeLink(node, Number(m[1]));
      }
    }
    out.length = 0;
  }

  /** What the driver does with a rejection: the link closes (peerDown both sides), then redials. */
  private closeLink(a: number, b: number): void {
    const env = this.env;
    env.drop(a, b);
    env.drop(b, a);
    env.step(a, { kind: 'peerDown', peer: b });
    env.step(b, { kind: 'peerDown', peer: a });
    env.step(a, { kind: 'peerUp', peer: b });
    env.step(b, { kind: 'peerUp', peer: a });
  }

  // ---- hostile frames ----

  private hostileFrame(): void {
    this.stats.frames++;
    const p = this.prng;
    const to = ids[p.nextInt(ids.length)]!;
    let from = ids[p.nextInt(ids.length)]!;
    if (from === to) from = (to % ids.length) + 1;
    const made = this.makeFrame(from, to);
    if (made !== null) this.deliverBytes(made.from, to, made.frame);
  }

  /**
   * One hostile frame (length prefix included) as if from `from` to `to`, and whom it really
   * claims to come from (a replayed message keeps its sender); null if the codec refused to
   * encode the values drawn (counted).
   */
  makeFrame(from: number, to: number): { frame: Buffer; from: number } | null {
    const p = this.prng;
    let frame: Buffer;
    const kind = p.nextInt(20);
    try {
      if (kind < 2) frame = this.randomBytes();
      else if (kind < 5 && this.seen.length > 0) {
        const m = this.seen[p.nextInt(this.seen.length)]!;
        // a real message again: to the same member from the same sender (duplicate, late), or
        // to another member, or claiming another sender
        if (p.chance(0.5)) from = m.from;
        frame = encodeMessageFrame(m.msg);
      } else if (kind < 7) frame = this.otherFrame(from, to);
      else frame = encodeMessageFrame(this.generated(to));
    } catch (e) {
      if (e instanceof QuorumCodecError) {
        this.stats.refusedByCodec++; // a value the codec will not encode
        return null;
      }
      this.crash('encode', e);
      return null;
    }
    if (p.chance(0.35)) frame = this.mutate(frame);
    return { frame, from };
  }

  private deliverBytes(from: number, to: number, frame: Buffer): void {
    const p = this.prng;
    // The frame reader, in random chunks, with the bound of a connection before or after its handshake.
    const bodies: Buffer[] = [];
    let problem: string | null = null;
    const reader = new FrameReader(p.chance(0.2) ? handshakeFrameBytesMax : 64 * 1024 * 1024);
    try {
      let at = 0;
      while (at < frame.length && problem === null) {
        const n = Math.min(frame.length - at, 1 + p.nextInt(Math.max(1, frame.length)));
        problem = reader.push(frame.subarray(at, at + n), (body) => {
          bodies.push(body);
          return true;
        });
        at += n;
      }
    } catch (e) {
      this.crash('frame reader', e);
      return;
    }
    if (problem !== null || bodies.length === 0) {
      this.stats.refusedByCodec++;
      return;
    }
    for (const body of bodies) {
      let decoded: DecodedFrame;
      try {
        decoded = decodeFrame(body);
      } catch (e) {
        if (e instanceof QuorumCodecError) this.stats.refusedByCodec++;
        else this.crash('decodeFrame', e);
        continue;
      }
      this.handle(from, to, decoded);
    }
  }

  /** The driver's path for a decoded frame. */
  private handle(from: number, to: number, decoded: DecodedFrame): void {
    if (decoded.kind !== 'message') {
      this.stats.otherDecoded++;
      return;
    }
    const msg = decoded.msg;
    try {
      if (msg.type === 'PROPOSAL' || msg.type === 'INFORM') {
        // The production driver refuses a payload that is not a txn of that zxid; the ensemble
        // here logs text payloads, so the check runs on a txn payload built for the frame and
        // the core gets the frame as it came.
        const txn = decodeProposalPayload(msg.zxid, this.prng.chance(0.5) ? txnPayload(this.prng, msg.zxid) : msg.payload);
        if (typeof txn === 'string' && this.prng.chance(0.5)) {
          this.stats.refusedByDriver++;
          return;
        }
      }
      if (msg.type === 'SNAP' && verifySeals(msg.data).length === 0 && this.prng.chance(0.5)) {
        this.stats.refusedByDriver++;
        return;
      }
      this.stats.stepped++;
      this.env.step(to, { kind: 'message', from, msg: this.envSnap(msg) });
      this.settleOutput();
    } catch (e) {
      this.crash(`step ${msg.type} ${from}->${to}`, e);
    }
  }

  /**
   * The ensemble's state machine reads a SNAP image as "zxid|values" (test/main/zab/harness/env.ts), where
   * production loads a snapshot file: an image that is not one for its zxid is given one, so
   * the harness's own bookkeeping stays consistent and the core's handling is what is tested.
   */
  private envSnap(msg: Msg): Msg {
    if (msg.type !== 'SNAP') return msg;
    if (new TextDecoder().decode(msg.data).startsWith(`${msg.zxid}|`)) return msg;
    return { ...msg, data: new TextEncoder().encode(`${msg.zxid}|`) };
  }

  private crash(where: string, e: unknown): void {
    this.stats.crashes++;
    if (this.stats.firstCrash === null) {
      const what = e instanceof Error ? (e.stack ?? e.message) : String(e);
      this.stats.firstCrash = `seed ${this.options.seed} frame ${this.stats.frames} (${where}): ${what}`;
    }
    this.env = freshEnsemble();
    this.seen.length = 0;
  }

  private randomBytes(): Buffer {
    const p = this.prng;
    const n = p.nextInt(64);
    const b = Buffer.alloc(framePrefixBytes + n);
    b.writeUInt32BE(p.chance(0.8) ? n : p.nextU32(), 0);
    for (let i = 0; i < n; i++) b[framePrefixBytes + i] = p.nextInt(256);
    // sometimes the right file identifier, so the table checks run
    if (n >= 8 && p.chance(0.5)) b.write('ZKQ1', framePrefixBytes + 4, 'latin1');
    return b;
  }

  private mutate(frame: Buffer): Buffer {
    const p = this.prng;
    const out = Buffer.from(frame);
    switch (p.nextInt(5)) {
      case 0: {
        for (let i = p.range(1, 4); i > 0; i--) {
          const at = Math.min(out.length - 1, framePrefixBytes + p.nextInt(Math.max(1, out.length - framePrefixBytes)));
          out[at] = out[at]! ^ (1 << p.nextInt(8));
        }
        return out;
      }
      case 1: {
        // cut the body, length prefix kept consistent or not
        const n = p.nextInt(out.length - framePrefixBytes);
        const cut = out.subarray(0, framePrefixBytes + n);
        if (p.chance(0.7)) cut.writeUInt32BE(n, 0);
        return cut;
      }
      case 2: {
        // overwrite a u32 with an interesting value (offsets, lengths, counts)
        const values = [0, 1, 0x7fffffff, 0xffffffff, 0x80000000, out.length, 0xfff0];
        const at = framePrefixBytes + p.nextInt(Math.max(1, out.length - framePrefixBytes - 4));
        if (at + 4 <= out.length) out.writeUInt32LE(values[p.nextInt(values.length)]!, at);
        return out;
      }
      case 3: {
        const extra = Buffer.alloc(p.nextInt(32), p.nextInt(256));
        const grown = Buffer.concat([out, extra]);
        grown.writeUInt32BE(grown.length - framePrefixBytes, 0);
        return grown;
      }
      default: {
        // a random byte anywhere, the prefix included
        out[p.nextInt(out.length)] = p.nextInt(256);
        return out;
      }
    }
  }

  private otherFrame(from: number, to: number): Buffer {
    const p = this.prng;
    switch (p.nextInt(5)) {
      case 0:
        return encodeHelloFrame({ cluster: p.chance(0.8) ? 'zkts' : 'other', sender: from, receiver: to, nonce: new Uint8Array(p.nextInt(2) * 16), mac: new Uint8Array(p.nextInt(2) * 32) });
      case 1:
        return encodeSnapChunkFrame(new Uint8Array(p.nextInt(100)));
      case 2:
        return encodeMessageFrame({
          type: 'REQUEST',
          session: BigInt(p.nextU32()) << BigInt(p.nextInt(33)),
          cxid: p.nextInt(1000),
          op: [1, 2, 5, -10, -11, 9, 20, 999][p.nextInt(8)]!,
          body: new Uint8Array(p.nextInt(50)),
          authIds: [{ scheme: 'super', id: 'super' }],
          timeoutMs: p.nextInt(60_000),
          local: p.chance(0.2),
        });
      case 3:
        return encodeMessageFrame({ type: 'REQUESTERROR', session: BigInt(p.nextU32()), cxid: p.nextInt(10), err: -p.nextInt(130), zxid: p.nextInt(1000) });
      default:
        return encodeMessageFrame({ type: 'TOUCH', sessions: Array.from({ length: p.nextInt(5) }, () => BigInt(p.nextU32())) });
    }
  }

  // ---- generated messages near the target's state ----

  private zxid(to: number): number {
    const p = this.prng;
    const peer = this.env.node(to).peer;
    const epoch = peer.acceptedEpoch;
    const picks = [
      0,
      peer.lastLoggedZxid,
      peer.lastLoggedZxid + 1,
      peer.lastLoggedZxid - 1,
      peer.lastLoggedZxid + 2,
      peer.commitZxid,
      peer.commitZxid + 1,
      zxidOf(epoch, 1),
      zxidOf(epoch + 1, 1),
      zxidOf(Math.max(0, epoch - 1), 5),
      zxidOf(zxidEpochMax, 0xffffffff),
      zxidOf(zxidEpochMax + 1, 0),
      Number.MAX_SAFE_INTEGER,
      -1,
      p.nextU32(),
    ];
    return picks[p.nextInt(picks.length)]!;
  }

  private epoch(to: number): number {
    const p = this.prng;
    const peer = this.env.node(to).peer;
    const picks = [0, peer.acceptedEpoch, peer.acceptedEpoch + 1, peer.currentEpoch, peer.acceptedEpoch - 1, zxidEpochMax, zxidEpochMax + 1, -1, p.nextInt(1 << 20)];
    return picks[p.nextInt(picks.length)]!;
  }

  private session(to: number): number {
    const p = this.prng;
    const picks = [0, 1, this.env.node(to).peer.learnerSession, this.env.node(to).peer.learnerSession + 1, -1, p.nextU32()];
    return picks[p.nextInt(picks.length)]!;
  }

  private generated(to: number): QuorumMsg {
    const p = this.prng;
    const type = msgTypes[p.nextInt(msgTypes.length)]!;
    const payload = (): Uint8Array => new TextEncoder().encode(`h${p.nextInt(1000)}`);
    switch (type) {
      case 'NOTIFICATION':
        return { type, leader: ids[p.nextInt(ids.length)]! + (p.chance(0.1) ? 10 : 0), zxid: this.zxid(to), peerEpoch: this.epoch(to), electionEpoch: p.nextInt(5) + (p.chance(0.1) ? -1 : 0), state: states[p.nextInt(states.length)]! };
      case 'FOLLOWERINFO':
      case 'OBSERVERINFO':
        return { type, acceptedEpoch: this.epoch(to), session: this.session(to) };
      case 'LEADERINFO':
        return { type, epoch: this.epoch(to), session: this.session(to) };
      case 'ACKEPOCH': {
        const segments = Array.from({ length: p.nextInt(4) }, () => ({ epoch: this.epoch(to), lastZxid: this.zxid(to) }));
        return { type, session: this.session(to), currentEpoch: this.epoch(to), lastZxid: this.zxid(to), snapshotZxid: p.chance(0.7) ? 0 : this.zxid(to), segments };
      }
      case 'DIFF':
      case 'TRUNC':
      case 'ACK':
      case 'COMMIT':
        return { type, zxid: this.zxid(to) };
      case 'SNAP': {
        const zxid = this.zxid(to);
        return { type, zxid, data: new TextEncoder().encode(`${zxid}|x,y`) };
      }
      case 'PROPOSAL':
      case 'INFORM':
        return { type, zxid: this.zxid(to), payload: payload() };
      case 'NEWLEADER':
        return { type, epoch: this.epoch(to), zxid: this.zxid(to) };
      case 'ACKNEWLEADER':
        return { type, epoch: this.epoch(to) };
      case 'UPTODATE':
        return { type, commitZxid: this.zxid(to) };
      case 'PING':
        return { type };
      case 'OBSERVERLEAVE':
        return { type, session: this.session(to) };
    }
  }
}

export function runQuorumFuzz(options: QuorumFuzzOptions): QuorumFuzzStats {
  return new QuorumFuzzer(options).run();
}
