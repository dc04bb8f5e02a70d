// read / write / mixed: C connections, each with `depth` requests always in flight (a closed
// loop: a reply starts the next request), on K znodes of S bytes under --root (created, or reset
// to S bytes, before the run). Reads are getData, writes setData (any version) of the same size,
// on znodes picked uniformly at random. Measures ops/s and latency percentiles, per second and
// over the measured time (after --warmup).

import { createClient, type ZkClient } from '../../client/index.js';
import { ZkError } from '../../client/errors.js';
import { Err } from '../../common/zk.js';
import type { OpsResult } from '../protocol.js';
import type { Scenario, ScenarioContext, Values } from '../types.js';
import { UsageError, count, lastCounter, lastP99, mergeErrors, num, openSessions, pct, rate, closeSessions, str, msList } from './common.js';

/** Creates root and the znodes (setting their data when they exist). */
export async function prepareZnodes(connect: string, root: string, k: number, bytes: number, timeoutMs: number): Promise<string[]> {
  const c: ZkClient = createClient(connect, { sessionTimeoutMs: 30000 });
  try {
    await c.waitConnected(timeoutMs);
    const ignoreExists = (e: unknown): void => {
      if (!(e instanceof ZkError && e.code === Err.nodeExists)) throw e;
    };
    for (let i = root.indexOf('/', 1); ; i = root.indexOf('/', i + 1)) {
      await c.create(i < 0 ? root : root.slice(0, i)).catch(ignoreExists);
      if (i < 0) break;
    }
    const data = Buffer.alloc(bytes, 0x61);
    const paths: string[] = [];
    for (let base = 0; base < k; base += 1000) {
      const ps: Promise<unknown>[] = [];
      for (let i = base; i < Math.min(k, base + 1000); i++) {
        const p = `${root}/n${i}`;
        paths.push(p);
        ps.push(c.create(p, data).catch(async (e: unknown) => {
          ignoreExists(e);
          await c.setData(p, data);
        }));
      }
      await Promise.all(ps);
    }
    return paths;
  } finally {
    await c.close();
  }
}

function throughputScenario(name: 'read' | 'write' | 'mixed'): Scenario {
  const connections = (v: Values): number => num(v, 'connections', 8, 1, 100_000);
  const parse = (v: Values) => {
    const root = str(v, 'root', '/zkts-load');
    if (!root.startsWith('/') || root === '/' || root.endsWith('/')) throw new UsageError(`--root: '${root}' is not a znode path`);
    return {
      c: connections(v),
      depth: num(v, 'depth', 32, 1, 10_000),
      k: num(v, 'znodes', 100, 1, 1_000_000),
      size: num(v, 'size', 100, 0, 1_000_000),
      durationS: num(v, 'duration', 10, 0.1, 86_400, true),
      warmupS: num(v, 'warmup', 1, 0, 3600, true),
      root,
      readRatio: name === 'read' ? 1 : name === 'write' ? 0 : num(v, 'read-ratio', 0.9, 0, 1, true),
    };
  };
  return {
    name,
    summary:
      name === 'read'
        ? 'C connections × pipeline depth of getData on K znodes of S bytes (ops/s, latency over time)'
        : name === 'write'
          ? 'C connections × pipeline depth of setData on K znodes of S bytes (ops/s, latency over time)'
          : 'reads and writes mixed (--read-ratio) on K znodes of S bytes (ops/s, latency over time)',
    help: `  -C, --connections N     sessions (default 8)
  -p, --depth N           requests in flight per connection (default 32)
  -k, --znodes K          znodes (default 100)
  -S, --size BYTES        data per znode (default 100)
  -d, --duration S        measured seconds (default 10)
      --warmup S          seconds run before measuring (default 1)
      --root PATH         parent of the znodes (default /zkts-load)${name === 'mixed' ? '\n      --read-ratio X      share of reads, 0..1 (default 0.9)' : ''}`,
    options: {
      connections: { type: 'string', short: 'C' },
      depth: { type: 'string', short: 'p' },
      znodes: { type: 'string', short: 'k' },
      size: { type: 'string', short: 'S' },
      duration: { type: 'string', short: 'd' },
      warmup: { type: 'string' },
      root: { type: 'string' },
      ...(name === 'mixed' ? { 'read-ratio': { type: 'string' as const } } : {}),
    },
    lean: false,
  latencyMetrics: name === 'read' ? ['read'] : name === 'write' ? ['write'] : ['read', 'write'],
    rateCounters: ['errors'],
    sessions: connections,
    validate: (v) => void parse(v),
    async run(ctx: ScenarioContext) {
      const { c, depth, k, size, durationS, warmupS, root, readRatio } = parse(ctx.values);
      const { pool, progress } = ctx;

      progress.phase('prepare', () => `creating ${count(k)} znodes of ${size} bytes under ${root}`);
      const paths = await prepareZnodes(ctx.common.connect, root, k, size, Math.min(30000, ctx.left()));
      const open = await openSessions(ctx, c, 0, 256);
      const metrics = name === 'mixed' ? ['read', 'write'] : [name];
      progress.phase('run', (last, p) => {
        const n = metrics.reduce((a, m) => a + (last?.hists.get(m)?.count ?? 0), 0);
        const warm = lastCounter(last, 'warmupOps');
        if (warm > 0 && n === 0) return `warm-up: ${rate(warm, 'ops')}`;
        return `${rate(n, 'ops')}  ${metrics.map((m) => `${m} p99 ${lastP99(last, m)}`).join('  ')}  errors ${count(p.counter('errors'))}`;
      });
      const t0 = performance.now();
      const results = await pool.all<OpsResult>(
        () => ({ kind: 'ops', readRatio, depth, warmupMs: Math.round(warmupS * 1000), durationMs: Math.round(durationS * 1000), paths, dataBytes: size }),
        ctx.left(),
      );
      const measuredS = Math.max(0.001, (performance.now() - t0) / 1000 - warmupS);
      let ops = 0;
      let errors = 0;
      const errorKinds: Record<string, number> = {};
      for (const r of results) {
        ops += r.ops;
        errors += r.errors;
        mergeErrors(errorKinds, r.errorKinds);
      }
      const latency: Record<string, ReturnType<ReturnType<typeof pool.total>['summaryMs']>> = {};
      for (const m of metrics) latency[m] = pool.total(m).summaryMs();
      const opsPerSec = ops / measuredS;
      progress.note(`${name}: ${rate(opsPerSec, 'ops')} over ${measuredS.toFixed(1)} s; ${metrics.map((m) => `${m} ${pct(latency[m]!)}`).join('; ')}${errors > 0 ? `; ${errors} errors` : ''}`);
      await closeSessions(ctx, 0, 256);
      const problems: string[] = [];
      if (open.failed > 0) problems.push(`${open.failed} of ${c} connects failed`);
      if (errors > 0) problems.push(`${errors} requests failed: ${JSON.stringify(errorKinds)}`);
      if (ops === 0) problems.push('no request completed');
      const figures: Array<[string, string]> = [
        ['throughput', rate(opsPerSec, 'ops')],
        ['connections × depth', `${c} × ${depth}`],
        ['znodes × size', `${count(k)} × ${size} B`],
      ];
      for (const m of metrics) figures.push([`${m} p50 / p99 / p99.9 / max`, `${msList(latency[m]!.p50, latency[m]!.p99, latency[m]!.p999, latency[m]!.max)}`]);
      figures.push(['errors', count(errors)]);
      return {
        options: { connections: c, depth, znodes: k, size, duration: durationS, warmup: warmupS, root, readRatio },
        summary: { ops, errors, errorKinds, measuredS, opsPerSec, latencyMs: latency, connections: open },
        figures,
        problems,
      };
    },
  };
}

export const readScenario = throughputScenario('read');
export const writeScenario = throughputScenario('write');
export const mixedScenario = throughputScenario('mixed');
