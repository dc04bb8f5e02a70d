// Quotas as ZooKeeper 3.8 keeps them (org.apache.zookeeper.Quotas, StatsTrack, DataTree's pTrie):
// a quota on /a is two nodes, /zookeeper/quota/a/zookeeper_limits (the limits, written by zkCli's
// setquota) and /zookeeper/quota/a/zookeeper_stats (the subtree's node count and data bytes,
// kept current by the apply step). Both hold StatsTrack text: "count=4,bytes=5" and, with more
// keys, "count=4,bytes=5=;byteHardLimit=10;countHardLimit=10" (the stray '=' is for 3.4's parser).

import { ZkPaths } from '../../common/zk.js';

/** A write took the subtree of `quota` past one of its limits. */
export interface QuotaExceededNote {
  /** The quota'd path. */
  readonly quota: string;
  readonly what: 'count' | 'bytes';
  /** The count or bytes the write would make. */
  readonly current: number;
  readonly limit: number;
  /** A hard limit (countHardLimit / byteHardLimit), else the soft one (count / bytes). */
  readonly hard: boolean;
  /** The write is refused (a hard limit with enforceQuota on). */
  readonly refused: boolean;
}

/** Quotas.limitNode / statNode */
export const quotaLimitNode = 'zookeeper_limits';
export const quotaStatNode = 'zookeeper_stats';

/** Quotas.limitPath: the limits node of the quota on `path`. */
export function quotaLimitPath(path: string): string {
  return `${ZkPaths.quota}${path}/${quotaLimitNode}`;
}

/** Quotas.statPath: the stats node of the quota on `path`. */
export function quotaStatPath(path: string): string {
  return `${ZkPaths.quota}${path}/${quotaStatNode}`;
}

/**
 * The quota'd path a limits or stats node under /zookeeper/quota stands for (Quotas.trimQuotaPath
 * of its parent), or null when `parentName` is not below /zookeeper/quota (ZooKeeper 3.8 tests a
 * bare string prefix, so "/zookeeper/quotaX" counted; and it died on a node right under
 * /zookeeper/quota, whose quota'd path is empty: zkts ignores both).
 */
export function quotaPathOf(parentName: string): string | null {
  if (!parentName.startsWith(`${ZkPaths.quota}/`)) return null;
  return parentName.slice(ZkPaths.quota.length);
}

/** Parsed StatsTrack texts by buffer: node data is never written in place, only replaced, and
 *  every write under a quota reads its limits and stats (a parse each, else). */
const parsed = new WeakMap<Uint8Array, StatsTrack>();
const utf8 = new TextEncoder();

/**
 * StatsTrack: key=value pairs separated by ',' or ';'; a missing key reads as -1. count and
 * bytes are fields (a stats node has only those); any other key lives in `extra`.
 */
export class StatsTrack {
  count = -1;
  bytes = -1;
  private extra: Map<string, number> | null = null;

  /** Parses as StatsTrack(String); a pair ZooKeeper could not parse (it throws) is skipped. */
  static parse(data: Uint8Array | null): StatsTrack {
    if (data === null || data.length === 0) return new StatsTrack();
    const known = parsed.get(data);
    if (known !== undefined) return known.copy();
    const t = StatsTrack.parseText(data);
    parsed.set(data, t.copy());
    return t;
  }

  private static parseText(data: Uint8Array): StatsTrack {
    const t = new StatsTrack();
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    for (const pair of text.split(/[,;]+/)) {
      const kv = pair.split('=');
      const key = kv[0] ?? '';
      if (kv.length < 2 || key === '') continue;
      const raw = kv[1] ?? '';
      if (raw === '') t.set(key, -1);
      else if (/^[+-]?\d{1,18}$/.test(raw)) t.set(key, Number(raw)); // Long.parseLong, kept exact
    }
    return t;
  }

  private set(key: string, v: number): void {
    if (key === 'count') this.count = v;
    else if (key === 'bytes') this.bytes = v;
    else (this.extra ??= new Map()).set(key, v);
  }

  get countHardLimit(): number {
    return this.extra?.get('countHardLimit') ?? -1;
  }
  get byteHardLimit(): number {
    return this.extra?.get('byteHardLimit') ?? -1;
  }

  copy(): StatsTrack {
    const t = new StatsTrack();
    t.count = this.count;
    t.bytes = this.bytes;
    if (this.extra !== null) t.extra = new Map(this.extra);
    return t;
  }

  /** StatsTrack.toString: count and bytes first, then '=' and the other keys sorted, ';'-joined. */
  toString(): string {
    let out = `count=${this.count},bytes=${this.bytes}`;
    if (this.extra !== null && this.extra.size > 0) {
      out += '=';
      for (const k of [...this.extra.keys()].sort()) out += `;${k}=${this.extra.get(k)}`;
    }
    return out;
  }

  /** The text as node data (a new buffer, remembered as parsed). */
  bytesOf(): Uint8Array {
    const data = utf8.encode(this.toString());
    parsed.set(data, this.copy());
    return data;
  }
}

/**
 * The quota'd paths (DataTree.pTrie, a PathTrie). A path's quota is its deepest quota'd
 * ancestor-or-self (PathTrie.findMaxPrefix), never "/" (getMaxPrefixWithQuota).
 */
export class QuotaIndex {
  private readonly paths = new Set<string>();

  get size(): number {
    return this.paths.size;
  }

  add(path: string): void {
    this.paths.add(path);
  }

  delete(path: string): void {
    this.paths.delete(path);
  }

  clear(): void {
    this.paths.clear();
  }

  /** DataTree.getMaxPrefixWithQuota: the quota'd path whose stats `path` counts in, or null. */
  quotaOf(path: string): string | null {
    if (this.paths.size === 0 || path === '/' || path === '') return null;
    if (this.paths.has(path)) return path;
    for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1)) {
      const prefix = path.slice(0, end);
      if (this.paths.has(prefix)) return prefix;
    }
    return null;
  }

  /** Every quota'd path (for tests and tools). */
  all(): string[] {
    return [...this.paths];
  }
}
