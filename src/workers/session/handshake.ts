// The session handshake (ZooKeeperServer.processConnectRequest / reopenSession /
// finishSessionInit), as pure pieces the worker wires together:
//
// - timeout negotiation into [min, max];
// - session ids: server id in the top byte (as ZooKeeper's SessionTrackerImpl), the worker index
//   in the next byte (the worker that created it), and 48 bits that are a counter started from
//   the wall clock (so a restarted server does not reuse the ids it handed out before) passed
//   through a keyed permutation (a 4-round Feistel network on 24-bit halves, AES-128 rounds under
//   a random key made per worker): distinct, and not guessable from ids seen before;
// - passwords: the first 16 bytes of HMAC-SHA256(secret, session id as 8 big-endian bytes), the
//   secret being random per ensemble unless configured (src/main/sessions/secret.ts), computed
//   from the secret's precomputed HMAC states (password.ts). ZooKeeper
//   uses java.util.Random(sessionId ^ superSecret), which is not a secret at all; any worker of
//   any member that knows the secret can check a password without asking anyone;
// - planning what to do with a ConnectRequest, and encoding the ConnectResponse frame.

import { createCipheriv, randomBytes, timingSafeEqual, type Cipher } from 'node:crypto';
import type { ConnectRequest } from '../../protocol/types.js';
import { encodeConnectResponse, type JuteWriter } from '../../protocol/jute/index.js';
import { serverIdMax, sessionIdBatchCount, workerIndexMax } from '../limits.js';
import { PasswordHmac } from './password.js';

export const sessionPasswordBytes = 16;

export function negotiateTimeout(requestedMs: number, minMs: number, maxMs: number): number {
  if (requestedMs < minMs) return minMs;
  if (requestedMs > maxMs) return maxMs;
  return requestedMs;
}

/** Bytes of the key of the session id permutation (AES-128). */
export const sessionIdKeyBytes = 16;

const feistelRounds = 4;

/** Id generator of one worker. */
export class SessionIdGenerator {
  readonly #top: number; // serverId << 24 | workerIndex << 16
  #counter: number; // 48 bits
  readonly #aes: Cipher;
  readonly #blocks = Buffer.alloc(16 * sessionIdBatchCount);
  readonly #ids = new Float64Array(sessionIdBatchCount);
  #next = sessionIdBatchCount;

  /** `nowMs` seeds the counter and `key` keys the permutation; tests fix them, a worker does not. */
  constructor(serverId: number, workerIndex: number, options: { nowMs?: number; key?: Buffer } = {}) {
    const nowMs = options.nowMs ?? Date.now();
    const key = options.key ?? randomBytes(sessionIdKeyBytes);
    if (!Number.isInteger(serverId) || serverId < 0 || serverId > serverIdMax) {
      throw new RangeError(`serverId must be in 0..${serverIdMax}, got ${serverId}`);
    }
    if (!Number.isInteger(workerIndex) || workerIndex < 0 || workerIndex > workerIndexMax) {
      throw new RangeError(`workerIndex must be in 0..${workerIndexMax}, got ${workerIndex}`);
    }
    this.#top = ((serverId << 24) | (workerIndex << 16)) >>> 0;
    // 2^41 ms (~70 years of epoch ms) × 2^7: 128 ids per ms of uptime before a restart's
    // counter could reach ids handed out before it.
    this.#counter = (nowMs % 2 ** 41) * 2 ** 7;
    this.#aes = createCipheriv('aes-128-ecb', key, null);
    this.#aes.setAutoPadding(false);
  }

  /** The next id as hi/lo u32. Writes into `out` to avoid an object per session. */
  next(out: { hi: number; lo: number }): void {
    let v = 0;
    while (v === 0) {
      // (0 is skipped: with server and worker 0 it would be session id 0, "no session")
      if (this.#next === sessionIdBatchCount) this.#refill();
      v = this.#ids[this.#next++]!;
    }
    out.hi = (this.#top | Math.floor(v / 2 ** 32)) >>> 0;
    out.lo = v % 2 ** 32 >>> 0;
  }

  /**
   * The next `sessionIdBatchCount` counters through a keyed permutation of 48-bit numbers: a Feistel network
   * on 24-bit halves whose round function is AES-128 under the key (Luby-Rackoff: 4 rounds of a
   * pseudo-random function give a pseudo-random permutation). Each round is one AES call for the
   * whole batch: about a tenth of a microsecond per id.
   */
  #refill(): void {
    const ids = this.#ids;
    const b = this.#blocks;
    for (let j = 0; j < sessionIdBatchCount; j++) {
      ids[j] = this.#counter;
      this.#counter = this.#counter + 1 >= 2 ** 48 ? 0 : this.#counter + 1;
    }
    const left = new Uint32Array(sessionIdBatchCount);
    const right = new Uint32Array(sessionIdBatchCount);
    for (let j = 0; j < sessionIdBatchCount; j++) {
      left[j] = Math.floor(ids[j]! / 2 ** 24);
      right[j] = ids[j]! % 2 ** 24;
    }
    for (let round = 0; round < feistelRounds; round++) {
      for (let j = 0; j < sessionIdBatchCount; j++) b.writeUInt32BE(((round << 24) | right[j]!) >>> 0, 16 * j);
      const f = this.#aes.update(b);
      for (let j = 0; j < sessionIdBatchCount; j++) {
        const mixed = (left[j]! ^ f.readUIntBE(16 * j, 3)) >>> 0;
        left[j] = right[j]!;
        right[j] = mixed;
      }
    }
    for (let j = 0; j < sessionIdBatchCount; j++) ids[j] = left[j]! * 2 ** 24 + right[j]!;
    this.#next = 0;
  }
}

export function sessionIdBytes(hi: number, lo: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(hi >>> 0, 0);
  b.writeUInt32BE(lo >>> 0, 4);
  return b;
}

/** The HMAC of the secret used last (a worker has one secret; it changes at most once). */
let passwords: PasswordHmac | null = null;

function passwordsFor(secret: string): PasswordHmac {
  if (passwords === null || passwords.secret !== secret) passwords = new PasswordHmac(secret);
  return passwords;
}

const passwordScratch = Buffer.alloc(sessionPasswordBytes);

export function sessionPassword(secret: string, hi: number, lo: number): Buffer {
  const out = Buffer.allocUnsafe(sessionPasswordBytes);
  passwordsFor(secret).write(hi >>> 0, lo >>> 0, out, 0, sessionPasswordBytes);
  return out;
}

export function passwordMatches(
  secret: string,
  hi: number,
  lo: number,
  passwd: Uint8Array,
): boolean {
  if (passwd.length !== sessionPasswordBytes) return false;
  passwordsFor(secret).write(hi >>> 0, lo >>> 0, passwordScratch, 0, sessionPasswordBytes);
  return timingSafeEqual(passwordScratch, passwd);
}

/** What to do with a ConnectRequest. */
export type ConnectPlan =
  /** Close without an answer (ZooKeeper throws CloseRequestException). */
  | { kind: 'refuse'; message: string }
  /** A reconnect with the wrong password: the expired-session answer, then close. */
  | { kind: 'badPassword' }
  /** A new session; local ones are answered at once, global ones after `attached`. */
  | { kind: 'create'; local: boolean; timeoutMs: number }
  /** A reconnect of a local session this worker holds: answered at once. */
  | { kind: 'reattachLocal'; timeoutMs: number }
  /** A reconnect this worker cannot answer alone: ask the main thread. */
  | { kind: 'reconnect'; timeoutMs: number };

export interface ConnectContext {
  remote: string;
  serving: boolean;
  lastZxid: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  localSessionsEnabled: boolean;
  sessionSecret: string;
  /** Whether this worker holds (hi, lo) as a live local session. */
  knownLocal(hi: number, lo: number): boolean;
}

export function planConnect(
  req: ConnectRequest,
  hi: number,
  lo: number,
  ctx: ConnectContext,
): ConnectPlan {
  if (!ctx.serving) return { kind: 'refuse', message: 'ZooKeeperServer not running' };
  if (req.lastZxidSeen > ctx.lastZxid) {
    return {
      kind: 'refuse',
      message:
        `Refusing session request for client /${ctx.remote} as it has seen zxid ` +
        `0x${req.lastZxidSeen.toString(16)} our last zxid is 0x${ctx.lastZxid.toString(16)} ` +
        'client must try another server',
    };
  }
  const timeoutMs = negotiateTimeout(req.timeOut, ctx.minSessionTimeoutMs, ctx.maxSessionTimeoutMs);
  if (req.sessionId === 0n) {
    return { kind: 'create', local: req.localSession || ctx.localSessionsEnabled, timeoutMs };
  }
  if (!passwordMatches(ctx.sessionSecret, hi, lo, req.passwd)) return { kind: 'badPassword' };
  if (ctx.knownLocal(hi, lo)) return { kind: 'reattachLocal', timeoutMs };
  return { kind: 'reconnect', timeoutMs };
}

/** Bytes of a ConnectRequest without the trailing readOnly bool (pre-3.4 clients). */
export function connectRequestBytesWithoutReadOnly(passwdBytes: number): number {
  return 4 + 8 + 4 + 8 + 4 + passwdBytes;
}

const zeroPassword = new Uint8Array(sessionPasswordBytes);

/** Bytes of a valid session's ConnectResponse frame (writeConnectResponseFrame): the length
 *  prefix, protocolVersion, timeOut, sessionId, the password with its length, and readOnly
 *  unless the client is an old one. */
export function connectResponseFrameBytes(oldClient: boolean): number {
  return 4 + 4 + 4 + 8 + 4 + sessionPasswordBytes + (oldClient ? 0 : 1);
}

/**
 * A valid session's ConnectResponse frame written straight into `buf` at `off`, for the
 * handshake's hot path: the same bytes as connectResponseFrame (tested), with no JuteWriter,
 * bigint or Buffer per connect. `buf` needs connectResponseFrameBytes(oldClient) bytes there.
 */
export function writeConnectResponseFrame(
  buf: Buffer,
  off: number,
  r: { timeoutMs: number; hi: number; lo: number; secret: string; oldClient: boolean },
): void {
  const bytes = connectResponseFrameBytes(r.oldClient);
  buf.writeInt32BE(bytes - 4, off);
  buf.writeInt32BE(0, off + 4); // protocolVersion
  buf.writeInt32BE(r.timeoutMs, off + 8);
  buf.writeUInt32BE(r.hi >>> 0, off + 12);
  buf.writeUInt32BE(r.lo >>> 0, off + 16);
  buf.writeInt32BE(sessionPasswordBytes, off + 20);
  passwordsFor(r.secret).write(r.hi >>> 0, r.lo >>> 0, buf, off + 24, sessionPasswordBytes);
  if (!r.oldClient) buf[off + 24 + sessionPasswordBytes] = 0; // readOnly: false
}

/**
 * The ConnectResponse frame (length prefix included). `oldClient`: the request had no readOnly
 * bool, so neither has the answer (ServerCnxn.isOldClient). An invalid session (expired, bad
 * password) is timeOut 0, sessionId 0 and a zero password (finishSessionInit(cnxn, false)).
 */
export function connectResponseFrame(
  w: JuteWriter,
  r: {
    valid: boolean;
    timeoutMs: number;
    sessionId: bigint;
    passwd: Uint8Array;
    oldClient: boolean;
  },
): Buffer {
  w.reset();
  w.beginFrame();
  encodeConnectResponse(w, {
    protocolVersion: 0,
    timeOut: r.valid ? r.timeoutMs : 0,
    sessionId: r.valid ? r.sessionId : 0n,
    passwd: r.valid ? r.passwd : zeroPassword,
    readOnly: false,
  });
  w.endFrame();
  let frame = w.bytesCopy();
  if (r.oldClient) {
    frame = frame.subarray(0, frame.length - 1);
    frame.writeInt32BE(frame.length - 4, 0);
  }
  return frame;
}
