// Shapes shared by the load-test CLI, its scenarios and its reports.

import type { ParseArgsConfig } from 'node:util';
import type { LatencySummaryMs } from './histogram.js';
import type { WorkerPool } from './pool.js';
import type { Progress } from './progress.js';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface CommonOptions {
  connect: string;
  /** null: chosen from the load */
  workers: number | null;
  sourceAddrs: string[];
  sessionTimeoutMs: number;
  localSession: boolean;
  /** Hard limit on the whole run, seconds. */
  timeoutS: number;
  out: string | null;
  html: string | null;
  quiet: boolean;
  serverPid: number | null;
  label: string | null;
  /** Which client holds the sessions: 'lean' (raw sockets, the default where the scenario allows
   *  it) or 'full' (the zkts client). */
  client: 'lean' | 'full';
}

export interface ChartSeries {
  name: string;
  points: Array<[number, number]>;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Draw y on a log scale (latencies spanning decades). */
  logY?: boolean;
}

export interface SeriesRow {
  /** Seconds since the run started. */
  t: number;
  counters: Record<string, number>;
  latencyMs: Record<string, LatencySummaryMs>;
  connected: number | null;
}

export interface LoadResult {
  tool: 'zkts load';
  formatVersion: 1;
  scenario: string;
  label: string | null;
  target: string;
  startedAt: string;
  wallS: number;
  /** False when the run finished but found problems (failures, lost sessions, missed events). */
  ok: boolean;
  problems: string[];
  /** Set when the run itself failed (the figures are then partial). */
  error?: string;
  options: Record<string, unknown>;
  environment: {
    node: string;
    platform: string;
    cpus: number;
    workers: number;
    workerPids: number[];
    workerRssBytes: number[];
  };
  summary: Record<string, unknown>;
  /** Human-readable key figures, in order (the CLI prints them; the HTML report shows them). */
  figures: Array<[string, string]>;
  series: SeriesRow[];
  charts: Chart[];
  warnings: string[];
}

export interface ScenarioContext {
  common: CommonOptions;
  values: Values;
  pool: WorkerPool;
  progress: Progress;
  /** performance.now() ms by which the run must be over. */
  deadline: number;
  warn(message: string): void;
  /** Milliseconds left before the deadline (at least 1). */
  left(): number;
}

export interface ScenarioOutcome {
  options: Record<string, unknown>;
  summary: Record<string, unknown>;
  figures: Array<[string, string]>;
  problems: string[];
  /** Charts beyond the standard per-second ones. */
  charts?: Chart[];
}

export interface Scenario {
  name: string;
  /** One line for the scenario list. */
  summary: string;
  /** The scenario's own options, for --help (lines after the common ones). */
  help: string;
  options: OptionsConfig;
  /** Sessions (or connections) the run needs at most: sizes the worker pool. */
  sessions(values: Values): number;
  /** Checks the scenario's option values (throws UsageError) before anything starts. */
  validate(values: Values, common: CommonOptions): void;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
  /** Whether the scenario runs on the lean client (hold, connect, herd: the default there). */
  lean: boolean;
  /** Whether `--client lean` is taken, with the lean sessions in this process rather than in
   *  worker processes (watch: src/load/lean-watch.ts); the full client stays the default. */
  leanInProcess?: boolean;
  /** Metrics (histogram names) and counters to chart per second. */
  latencyMetrics: string[];
  rateCounters: string[];
}
