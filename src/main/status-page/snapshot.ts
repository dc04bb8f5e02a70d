// The live status page's snapshot: one JSON document built from what this member knows (its own
// state, its session workers' counters, its Zab view when in an ensemble) and what the other
// members answered to a four-letter word (peers.ts). Pure: the inputs are plain data, and the
// only state is the RateMeter that turns counters into per-second rates between pushes.

import { zxidHex } from '../../common/ids.js';
import type { WorkerCounts } from '../../shm/admin.js';
import type { LeaderChange, MemberView } from '../ensemble/member-view.js';
import { statusRateWindowMsMin } from './limits.js';

/** A member as the config names it (server.N lines; standalone: this server alone). */
export interface MemberConfig {
  readonly id: number;
  readonly host: string;
  /** From `server.N=...;clientPort`; null when the line does not say. */
  readonly clientPort: number | null;
  readonly role: 'participant' | 'observer' | 'standalone';
}

/** What another member answered to mntr (or srvr, where mntr is not whitelisted). */
export interface PeerFigures {
  readonly word: 'mntr' | 'srvr';
  readonly mode: string | null;
  readonly zxid: number | null;
  readonly nodeCount: number | null;
  readonly sessions: { readonly local: number; readonly global: number } | null;
  readonly packetsReceived: number | null;
  readonly avgLatencyMs: number | null;
  readonly connections: number | null;
  /** Each session worker's sessions (zkts's mntr row zk_worker_sessions); null when not told. */
  readonly workerSessions: readonly { readonly local: number; readonly global: number }[] | null;
}

/** The last probe of a member: its figures, or why there are none. */
export interface PeerProbeResult {
  readonly atMs: number;
  readonly figures: PeerFigures | null;
  readonly error: string | null;
}

export interface WorkerSample {
  readonly workerIndex: number;
  readonly counts: WorkerCounts;
}

export interface SnapshotInput {
  readonly atMs: number;
  readonly self: {
    readonly id: number;
    readonly mode: string;
    readonly zxid: number;
    readonly nodeCount: number;
    readonly sessions: { readonly local: number; readonly global: number };
  };
  readonly members: readonly MemberConfig[];
  /** The workers' counters; null when none answered in time (then `workersStale`). */
  readonly workers: readonly WorkerSample[] | null;
  readonly workersStale: boolean;
  /** The ensemble member's Zab view; null standalone. */
  readonly zab: MemberView | null;
  readonly peers: ReadonlyMap<number, PeerProbeResult>;
}

export interface Latency {
  readonly minMs: number;
  readonly avgMs: number;
  readonly maxMs: number;
  /** Average over the requests answered since the last snapshot; null when none were. */
  readonly recentAvgMs: number | null;
}

export interface WorkerRow {
  readonly index: number;
  readonly connections: number;
  readonly sessions: { readonly local: number; readonly global: number };
  readonly opsPerS: number | null;
  readonly outstanding: number;
  readonly latency: Latency;
}

export interface MemberRow {
  readonly id: number;
  readonly host: string;
  readonly clientPort: number | null;
  readonly configuredRole: MemberConfig['role'];
  /** leader, follower, observer, looking, standalone, or unknown (no answer). */
  readonly mode: string;
  readonly self: boolean;
  /** Its last applied zxid (hex), as it reports it; null when unknown. */
  readonly zxid: string | null;
  /** The zxid it has acked to this member through Zab (this member leads; followers only). */
  readonly ackedZxid: string | null;
  /** Its sync phase on this leader (active once synced). */
  readonly syncPhase: string | null;
  readonly sessions: { readonly local: number; readonly global: number } | null;
  /** The same per session worker, in worker order; null when the member does not say. */
  readonly workerSessions: readonly { readonly local: number; readonly global: number }[] | null;
  readonly opsPerS: number | null;
  readonly avgLatencyMs: number | null;
  readonly nodeCount: number | null;
  readonly connections: number | null;
  /** self, mntr, srvr, zab (the leader's view only) or none. */
  readonly source: 'self' | 'mntr' | 'srvr' | 'zab' | 'none';
  /** Why figures are missing or old; null when all is well. */
  readonly note: string | null;
  /** Age of its figures (ms); 0 for this member. */
  readonly ageMs: number | null;
}

export interface StatusSnapshot {
  readonly kind: 'zkts-status';
  readonly version: 1;
  readonly atMs: number;
  readonly selfId: number;
  readonly mode: string;
  readonly epoch: number | null;
  readonly leaderId: number | null;
  readonly zxid: string;
  readonly nodeCount: number;
  readonly members: readonly MemberRow[];
  readonly workers: readonly WorkerRow[];
  readonly workersStale: boolean;
  readonly totals: {
    readonly opsPerS: number | null;
    readonly connections: number;
    readonly latency: Latency;
  };
  readonly leaderChanges: readonly LeaderChange[];
}

/**
 * Counters to per-second rates, keyed by name: the rate since the last sample at least
 * statusRateWindowMsMin old ('soon' when the last one is younger). A counter that went down (srst
 * reset it, a member restarted) starts over: no rate until the next sample.
 */
export class RateMeter {
  private readonly last = new Map<string, { value: number; atMs: number }>();

  /** (value - earlier) per second; null for a first sample or after a reset. */
  rate(key: string, value: number, atMs: number): number | null | 'soon' {
    const d = this.delta(key, value, atMs);
    return d === null || d === 'soon' ? d : d.dv / (d.dtMs / 1000);
  }

  /** The change since the last sample; null for a first sample or after a reset. */
  delta(key: string, value: number, atMs: number): { dv: number; dtMs: number } | null | 'soon' {
    const prev = this.last.get(key);
    if (prev === undefined || value < prev.value) {
      this.last.set(key, { value, atMs });
      return null;
    }
    const dtMs = atMs - prev.atMs;
    if (dtMs < statusRateWindowMsMin) return 'soon';
    this.last.set(key, { value, atMs });
    return { dv: value - prev.value, dtMs };
  }
}

/** Remembers the last rate per key, so that a sample too soon shows it rather than nothing. */
class Rates {
  private readonly shown = new Map<string, number | null>();

  constructor(private readonly meter: RateMeter) {}

  perS(key: string, value: number, atMs: number): number | null {
    const r = this.meter.rate(key, value, atMs);
    if (r !== 'soon') this.shown.set(key, r === null ? null : round(r));
    return this.shown.get(key) ?? null;
  }

  /** d(total)/d(count) since the last sample: the recent average latency. */
  recentAverage(key: string, total: number, count: number, atMs: number): number | null {
    const dTotal = this.meter.delta(`${key}.total`, total, atMs);
    const dCount = this.meter.delta(`${key}.count`, count, atMs);
    if (dTotal === 'soon' || dCount === 'soon') return this.shown.get(key) ?? null;
    const avg = dTotal === null || dCount === null || dCount.dv === 0 ? null : round(dTotal.dv / dCount.dv);
    this.shown.set(key, avg);
    return avg;
  }
}

/** The rates between snapshots live in this object (one per status page). */
export class SnapshotBuilder {
  private readonly meter = new RateMeter();
  private readonly rates = new Rates(this.meter);

  build(input: SnapshotInput): StatusSnapshot {
    const at = input.atMs;
    const workers = (input.workers ?? []).map((w) => this.workerRow(w, at));
    const counts = (input.workers ?? []).map((w) => w.counts);
    const totalOps = workers.length === 0 ? null : sumOrNull(workers.map((w) => w.opsPerS));
    const latency = this.latencyOf('total', counts, at);
    const connections = counts.reduce((n, c) => n + c.aliveConnections, 0);
    const own = { opsPerS: totalOps, avgLatencyMs: latency.avgMs, connections };
    const members = input.members.map((m) => this.memberRow(m, input, own));
    const zab = input.zab;
    return {
      kind: 'zkts-status',
      version: 1,
      atMs: at,
      selfId: input.self.id,
      mode: input.self.mode,
      epoch: zab?.currentEpoch ?? null,
      leaderId: zab === null || zab.leaderId < 0 ? null : zab.leaderId,
      zxid: zxidHex(input.self.zxid),
      nodeCount: input.self.nodeCount,
      members,
      workers,
      workersStale: input.workersStale,
      totals: { opsPerS: totalOps, connections, latency },
      leaderChanges: zab?.leaderChanges ?? [],
    };
  }

  private workerRow(w: WorkerSample, at: number): WorkerRow {
    const c = w.counts;
    return {
      index: w.workerIndex,
      connections: c.aliveConnections,
      sessions: { local: c.localSessions, global: c.globalSessions },
      opsPerS: this.rates.perS(`worker.${w.workerIndex}.ops`, c.packetsReceived, at),
      outstanding: c.outstandingRequests,
      latency: this.latencyOf(`worker.${w.workerIndex}`, [c], at),
    };
  }

  /** ZooKeeper's min/avg/max over `counts` together (as srvr sums the workers), and the recent
   *  average since the last snapshot. */
  private latencyOf(key: string, counts: readonly WorkerCounts[], at: number): Latency {
    let total = 0;
    let n = 0;
    let min = Infinity;
    let max = 0;
    for (const c of counts) {
      total += c.latencyTotalMs;
      n += c.latencyCount;
      max = Math.max(max, c.maxLatencyMs);
      if (c.latencyCount > 0) min = Math.min(min, c.minLatencyMs);
    }
    return {
      minMs: min === Infinity ? 0 : min,
      avgMs: n === 0 ? 0 : round(total / n),
      maxMs: max,
      recentAvgMs: this.rates.recentAverage(`${key}.latency`, total, n, at),
    };
  }

  private memberRow(m: MemberConfig, input: SnapshotInput, own: { opsPerS: number | null; avgLatencyMs: number; connections: number }): MemberRow {
    const base = { id: m.id, host: m.host, clientPort: m.clientPort, configuredRole: m.role };
    if (m.id === input.self.id) {
      const s = input.self;
      return {
        ...base,
        mode: s.mode,
        self: true,
        zxid: zxidHex(s.zxid),
        ackedZxid: null,
        syncPhase: null,
        sessions: s.sessions,
        workerSessions:
          input.workers === null
            ? null
            : [...input.workers].sort((a, b) => a.workerIndex - b.workerIndex).map((w) => ({ local: w.counts.localSessions, global: w.counts.globalSessions })),
        opsPerS: own.opsPerS,
        avgLatencyMs: own.avgLatencyMs,
        nodeCount: s.nodeCount,
        connections: own.connections,
        source: 'self',
        note: input.workersStale ? 'session workers did not answer in time: their figures are the last known' : null,
        ageMs: 0,
      };
    }
    // This member leads: Zab says how far each follower has acked (observers ack no proposal).
    const learner = input.zab?.learners.find((l) => l.id === m.id);
    const ackedZxid = learner === undefined || learner.observer ? null : zxidHex(learner.ackedZxid);
    const syncPhase = learner?.phase ?? null;
    const probe = input.peers.get(m.id);
    const f = probe?.figures ?? null;
    if (probe === undefined || f === null) {
      const why = m.clientPort === null ? 'client port unknown (server.N line without ;clientPort)' : (probe?.error ?? 'asked; no answer yet');
      return {
        ...base,
        mode: syncPhase === null ? 'unknown' : m.role === 'observer' ? 'observer' : 'follower',
        self: false,
        zxid: ackedZxid,
        ackedZxid,
        syncPhase,
        sessions: null,
        workerSessions: null,
        opsPerS: null,
        avgLatencyMs: null,
        nodeCount: null,
        connections: null,
        source: ackedZxid === null ? 'none' : 'zab',
        note: why,
        ageMs: probe === undefined ? null : input.atMs - probe.atMs,
      };
    }
    const ops = f.packetsReceived === null ? null : this.rates.perS(`member.${m.id}.ops`, f.packetsReceived, probe.atMs);
    return {
      ...base,
      mode: f.mode ?? 'unknown',
      self: false,
      zxid: f.zxid === null ? ackedZxid : zxidHex(f.zxid),
      ackedZxid,
      syncPhase,
      sessions: f.sessions,
      workerSessions: f.workerSessions,
      opsPerS: ops,
      avgLatencyMs: f.avgLatencyMs,
      nodeCount: f.nodeCount,
      connections: f.connections,
      source: f.word,
      note: probe.error ?? (f.sessions === null ? `sessions unknown: ${f.word} does not report them (mntr not whitelisted)` : null),
      ageMs: input.atMs - probe.atMs,
    };
  }
}

function sumOrNull(xs: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const x of xs) {
    if (x === null) return null;
    sum += x;
  }
  return round(sum);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
