// Quotas as ZooKeeper 3.8 keeps them (org.apache.zookeeper.Quotas, StatsTrack, DataTree's pTrie):
// a quota on /a is two nodes, /zookeeper/quota/a/zookeeper_limits (the limits, written by zkCli's
// setquota) and /zookeeper/quota/a/zookeeper_stats (the subtree's node count and data bytes,
// kept current by the apply step). Both hold StatsTrack text: "count=4,bytes=5" and, with more
// keys, "count=4,bytes=5=;byteHardLimit=10;countHardLimit=10" (the stray '=' is for 3.4's parser).

import { ZkPaths } from '../../common/zk.js';

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

/** StatsTrack: key=value pairs separated by ',' or ';'; a missing key reads as -1. */
export class StatsTrack {
  private readonly stats = new Map<string, number>();

  /** Parses as StatsTrack(String); a pair ZooKeeper could not parse (it throws) is skipped. */
  static parse(data: Uint8Array | null): StatsTrack {
    const t = new StatsTrack();
    if (data === null || data.length === 0) return t;
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    for (const pair of text.split(/[,;]+/)) {
      const kv = pair.split('=');
      const key = kv[0] ?? '';
      if (kv.length < 2 || key === '') continue;
      const raw = kv[1] ?? '';
      if (raw === '') {
        t.stats.set(key, -1);
        continue;
      }
      if (!/^[+-]?\d{1,18}$/.test(raw)) continue; // Long.parseLong range, kept to exact doubles
      t.stats.set(key, Number(raw));
    }
    return t;
  }

  get count(): number {
    return this.stats.get('count') ?? -1;
  }
  set count(v: number) {
    this.stats.set('count', v);
  }
  get bytes(): number {
    return this.stats.get('bytes') ?? -1;
  }
  set bytes(v: number) {
    this.stats.set('bytes', v);
  }
  get countHardLimit(): number {
    return this.stats.get('countHardLimit') ?? -1;
  }
  get byteHardLimit(): number {
    return this.stats.get('byteHardLimit') ?? -1;
  }

  /** StatsTrack.toString: count and bytes first, then '=' and the other keys sorted, ';'-joined. */
  toString(): string {
    let out = `count=${this.count},bytes=${this.bytes}`;
    const keys = [...this.stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    if (keys.length > 0) {
      out += '=';
      for (const k of keys) out += `;${k}=${this.stats.get(k)}`;
    }
    return out;
  }

  bytesOf(): Uint8Array {
    return new Uint8Array(Buffer.from(this.toString(), 'utf8'));
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
