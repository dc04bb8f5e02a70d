// Connection throttling for the whole server: ZooKeeper 3.6's BlueThrottle (a token bucket with
// optional BLUE random dropping), checked once per ConnectRequest by whichever session worker
// got the connection (ZooKeeperServer.processConnectRequest: connThrottle.checkLimit(weight)).
//
// One bucket in a SharedArrayBuffer, not a share per worker. A per-worker share (tokens / N
// each) would be wrong exactly when it matters: SO_REUSEPORT hashes and a shared accept queue
// do not spread a herd evenly, so one worker would shed connects while another still had
// tokens, and small budgets (connThrottleTokens=10 over 4 workers) do not divide. ZooKeeper's
// bucket is one per server; so is this one. The cost is a tiny spin lock in the header, taken
// once per connect (never per request), held for a few float operations. Never Atomics.wait:
// these threads own sockets.
//
// The clock is the caller's (milliseconds, monotonic within a thread; the workers pass
// performance.timeOrigin + performance.now(), which agree across threads to well under a
// millisecond). Randomness for BLUE is the caller's too, so tests are deterministic.
//
// Counters (connects let through, connects refused) live here as well, so the main thread reads
// them for mntr without asking the workers, and the "throttled" warning is rate-limited for the
// whole server, not per worker.

import { assert } from '../common/assert.js';
import {
  connThrottleDecreaseRatioDefault,
  connThrottleDropDecreaseDefault,
  connThrottleDropIncreaseDefault,
  connThrottleFillCountDefault,
  connThrottleFillTimeMsDefault,
  connThrottleFreezeTimeMsDefault,
  connThrottleGlobalSessionWeightDefault,
  connThrottleLocalSessionWeightDefault,
  connThrottleRenewSessionWeightDefault,
  connThrottleTokensDefault,
  connThrottleTokensMax,
} from './limits.js';

/** The connThrottle* keys of zoo.cfg, validated by src/main/config.ts. */
export interface ConnThrottleSettings {
  /** Bucket size in connects (global-session connects when weights are on); 0 = off. */
  tokens: number;
  /** Every fillTimeMs, fillCount tokens come back (up to the bucket size). */
  fillTimeMs: number;
  fillCount: number;
  /** BLUE: the drop chance is adjusted at most once per this many ms; -1 = no random drops. */
  freezeTimeMs: number;
  /** BLUE: added to the drop chance when the bucket is found empty. */
  dropIncrease: number;
  /** BLUE: taken off the drop chance when the deficit is at most decreaseRatio × bucket size. */
  dropDecrease: number;
  decreaseRatio: number;
  /** Weigh connects by what they cost (ZooKeeper's connection_throttle_weight_enabled). */
  weightEnabled: boolean;
  globalSessionWeight: number;
  localSessionWeight: number;
  renewSessionWeight: number;
}

export const connThrottleDefaults: Readonly<ConnThrottleSettings> = Object.freeze({
  tokens: connThrottleTokensDefault,
  fillTimeMs: connThrottleFillTimeMsDefault,
  fillCount: connThrottleFillCountDefault,
  freezeTimeMs: connThrottleFreezeTimeMsDefault,
  dropIncrease: connThrottleDropIncreaseDefault,
  dropDecrease: connThrottleDropDecreaseDefault,
  decreaseRatio: connThrottleDecreaseRatioDefault,
  weightEnabled: false,
  globalSessionWeight: connThrottleGlobalSessionWeightDefault,
  localSessionWeight: connThrottleLocalSessionWeightDefault,
  renewSessionWeight: connThrottleRenewSessionWeightDefault,
});

/** What a ConnectRequest asks for, which decides its weight. */
export const ConnectKind = {
  /** Session id 0, and the session will be global. */
  newGlobal: 0,
  /** Session id 0, and the session will be local (localSessionsEnabled, or the client's flag). */
  newLocal: 1,
  /** A session id: re-establishing a session. */
  renew: 2,
} as const;
export type ConnectKind = (typeof ConnectKind)[keyof typeof ConnectKind];

const magic = 0x5a4b5442; // "ZKTB"
// Int32 header (64 bytes)
const iMagic = 0;
const iLock = 1;
const headerInts = 16;
// Float64 cells after the header: settings (written once by create), then state.
const fMaxTokens = 0; // after weighting
const fFillTimeMs = 1;
const fFillCount = 2; // after weighting
const fFreezeTimeMs = 3;
const fDropIncrease = 4;
const fDropDecrease = 5;
const fDecreaseRatio = 6;
const fWeightGlobal = 7;
const fWeightLocal = 8;
const fWeightRenew = 9;
const fTokens = 10;
const fLastFillMs = 11;
const fLastFreezeMs = 12;
const fDrop = 13;
const fLetThrough = 14;
const fRejected = 15;
const fRejectedSinceLog = 16;
const fLastLogMs = 17;
const cells = 18;

/** The shared bucket. Make it with createConnThrottle (main thread); attach in each worker. */
export class ConnThrottle {
  readonly buffer: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #f: Float64Array;
  /** Read once: the settings never change after create. */
  readonly enabled: boolean;
  readonly #weights: readonly [number, number, number];

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer, 0, headerInts);
    this.#f = new Float64Array(buffer, headerInts * 4, cells);
    const f = this.#f;
    this.enabled = f[fMaxTokens]! > 0;
    this.#weights = [f[fWeightGlobal]!, f[fWeightLocal]!, f[fWeightRenew]!];
  }

  /** A bucket made by createConnThrottle, possibly in another thread. */
  static attach(buffer: SharedArrayBuffer): ConnThrottle {
    assert(buffer.byteLength === connThrottleBytes, 'connection throttle: wrong buffer size');
    assert(Atomics.load(new Int32Array(buffer, 0, 1), iMagic) === magic, 'connection throttle: not initialised');
    return new ConnThrottle(buffer);
  }

  /** Tokens a connect of this kind takes (1 each when weights are off). */
  weight(kind: ConnectKind): number {
    return this.#weights[kind];
  }

  /**
   * BlueThrottle.checkLimit: refill for the time gone by, maybe drop at random (BLUE), then take
   * `need` tokens or refuse. Counts the outcome. Always true when throttling is off.
   */
  check(need: number, nowMs: number, random: () => number): boolean {
    if (!this.enabled) {
      this.#lock();
      this.#f[fLetThrough]!++;
      this.#unlock();
      return true;
    }
    const f = this.#f;
    this.#lock();
    try {
      const max = f[fMaxTokens]!;
      const fillTime = f[fFillTimeMs]!;
      const fillCount = f[fFillCount]!;
      let tokens = f[fTokens]!;
      const since = nowMs - f[fLastFillMs]!;
      if (since > fillTime) {
        const refill = Math.floor((since * fillCount) / fillTime);
        if (tokens + refill >= max) {
          tokens = max;
          f[fLastFillMs] = nowMs;
        } else {
          // Keep the part of a fill period not paid out yet (BlueThrottle drops it: under a
          // steady stream of connects closer together than fillTime it would refill slower).
          tokens += refill;
          f[fLastFillMs]! += (refill * fillTime) / fillCount;
        }
        f[fTokens] = tokens;
      }
      const pass = (f[fFreezeTimeMs]! < 0 || this.#blue(nowMs, tokens, max, random)) && tokens >= need;
      if (pass) {
        f[fTokens] = tokens - need;
        f[fLetThrough]!++;
      } else {
        f[fRejected]!++;
        f[fRejectedSinceLog]!++;
      }
      return pass;
    } finally {
      this.#unlock();
    }
  }

  /** BlueThrottle.checkBlue: adjust the drop chance at most once per freeze time; roll it. */
  #blue(nowMs: number, tokens: number, max: number, random: () => number): boolean {
    const f = this.#f;
    if (nowMs - f[fLastFreezeMs]! > f[fFreezeTimeMs]!) {
      const deficit = max - tokens;
      const drop = f[fDrop]!;
      if (deficit === max && drop < 1) f[fDrop] = Math.min(drop + f[fDropIncrease]!, 1);
      else if (deficit <= Math.round(max * f[fDecreaseRatio]!) && drop > 0) {
        f[fDrop] = Math.max(drop - f[fDropDecrease]!, 0);
      }
      f[fLastFreezeMs] = nowMs;
    }
    return !(random() < f[fDrop]!);
  }

  /**
   * Connects refused since the last warning, when a warning is due (none in the last
   * `intervalMs`, server-wide) and there is something to say; else 0. Resets the count.
   */
  refusedToReport(nowMs: number, intervalMs: number): number {
    const f = this.#f;
    this.#lock();
    try {
      const n = f[fRejectedSinceLog]!;
      if (n === 0 || nowMs - f[fLastLogMs]! < intervalMs) return 0;
      f[fRejectedSinceLog] = 0;
      f[fLastLogMs] = nowMs;
      return n;
    } finally {
      this.#unlock();
    }
  }

  /** Connects let through (ZooKeeper's connection_request_count). */
  get letThrough(): number {
    return this.#read(fLetThrough);
  }
  /** Connects refused (ZooKeeper's connection_rejected). */
  get rejected(): number {
    return this.#read(fRejected);
  }
  /** Tokens in the bucket now (as of the last check). */
  get tokens(): number {
    return this.#read(fTokens);
  }
  /** The bucket size (after weighting). */
  get maxTokens(): number {
    return this.#f[fMaxTokens]!;
  }
  /** BLUE's drop chance (ZooKeeper's connection_drop_probability). */
  get dropChance(): number {
    return this.#read(fDrop);
  }

  #read(cell: number): number {
    this.#lock();
    const v = this.#f[cell]!;
    this.#unlock();
    return v;
  }

  #lock(): void {
    while (Atomics.compareExchange(this.#i32, iLock, 0, 1) !== 0) {
      // Held for a few float operations by another thread: spin.
    }
  }

  #unlock(): void {
    Atomics.store(this.#i32, iLock, 0);
  }
}

/** Bytes of the shared buffer. */
export const connThrottleBytes = headerInts * 4 + cells * 8;

/**
 * A full bucket for these settings (BlueThrottle's constructor). With weights on, the bucket and
 * the fill count are scaled by the global weight: the configured numbers count global-session
 * connects, as ZooKeeper reads them.
 */
export function createConnThrottle(s: ConnThrottleSettings, nowMs: number): ConnThrottle {
  const problems = connThrottleProblems(s);
  assert(problems.length === 0, `connection throttle: ${problems.join('; ')}`);
  const buffer = new SharedArrayBuffer(connThrottleBytes);
  const f = new Float64Array(buffer, headerInts * 4, cells);
  const scale = s.weightEnabled ? s.globalSessionWeight : 1;
  f[fMaxTokens] = s.tokens * scale;
  f[fFillTimeMs] = s.fillTimeMs;
  f[fFillCount] = s.fillCount * scale;
  f[fFreezeTimeMs] = s.freezeTimeMs;
  f[fDropIncrease] = s.dropIncrease;
  f[fDropDecrease] = s.dropDecrease;
  f[fDecreaseRatio] = s.decreaseRatio;
  f[fWeightGlobal] = s.weightEnabled ? s.globalSessionWeight : 1;
  f[fWeightLocal] = s.weightEnabled ? s.localSessionWeight : 1;
  f[fWeightRenew] = s.weightEnabled ? s.renewSessionWeight : 1;
  f[fTokens] = f[fMaxTokens]!;
  f[fLastFillMs] = nowMs;
  f[fLastFreezeMs] = nowMs;
  f[fLastLogMs] = -Infinity;
  const i32 = new Int32Array(buffer, 0, headerInts);
  Atomics.store(i32, iMagic, magic); // publishes the cells written above
  return ConnThrottle.attach(buffer);
}

/** What is wrong with these settings, in zoo.cfg's key names ([] when nothing). */
export function connThrottleProblems(s: ConnThrottleSettings): string[] {
  const p: string[] = [];
  const int = (key: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) p.push(`${key}=${v}: must be an integer in [${min}, ${max}]`);
  };
  const ratio = (key: string, v: number): void => {
    if (!(v >= 0 && v <= 1)) p.push(`${key}=${v}: must be a number in [0, 1]`);
  };
  int('connThrottleTokens', s.tokens, 0, connThrottleTokensMax);
  int('connThrottleFillTime', s.fillTimeMs, 1, 2 ** 31 - 1);
  int('connThrottleFillCount', s.fillCount, 1, connThrottleTokensMax);
  if (s.freezeTimeMs !== -1) int('connThrottleFreezeTime', s.freezeTimeMs, 0, 2 ** 31 - 1);
  ratio('connThrottleDropIncrease', s.dropIncrease);
  ratio('connThrottleDropDecrease', s.dropDecrease);
  ratio('connThrottleDecreaseRatio', s.decreaseRatio);
  int('connThrottleGlobalSessionWeight', s.globalSessionWeight, 1, 1000);
  int('connThrottleLocalSessionWeight', s.localSessionWeight, 1, 1000);
  int('connThrottleRenewSessionWeight', s.renewSessionWeight, 1, 1000);
  // BlueThrottle replaces weights below the local one by it (with a warning); here it is an error.
  if (s.globalSessionWeight < s.localSessionWeight || s.renewSessionWeight < s.localSessionWeight) {
    p.push('connThrottleGlobalSessionWeight and connThrottleRenewSessionWeight must not be below connThrottleLocalSessionWeight');
  }
  if (s.weightEnabled) {
    int('connThrottleTokens × connThrottleGlobalSessionWeight', s.tokens * s.globalSessionWeight, 0, connThrottleTokensMax);
    int('connThrottleFillCount × connThrottleGlobalSessionWeight', s.fillCount * s.globalSessionWeight, 1, connThrottleTokensMax);
  }
  return p;
}
