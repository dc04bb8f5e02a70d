// The messages between the load-test parent and its worker processes (child_process IPC, JSON).
//
// The parent sends `init` once, then one command at a time to every worker (each with its share of
// the sessions); a worker answers each command with one `result`. Meanwhile the worker streams
// `bucket`s: what it measured in one second of the run (seconds counted from the shared `epoch`),
// as counter deltas and histogram deltas, which the parent merges by addition.

import type { HistogramData } from './histogram.js';

export interface InitMessage {
  type: 'init';
  workerIndex: number;
  workers: number;
  connectString: string;
  /** Wall-clock ms (performance.timeOrigin + performance.now()) that second 0 starts at. */
  epoch: number;
  /** Local (source) addresses to spread sessions over; empty: let the kernel pick. */
  sourceAddrs: string[];
  sessionTimeoutMs: number;
  localSession: boolean;
  /** 'lean': sessions are held by src/load/lean-client.ts (raw sockets, pings, closeSession,
   *  re-attach); 'full': by the zkts client (every request). */
  client: 'lean' | 'full';
}

export interface OpenCommand {
  kind: 'open';
  count: number;
  /** This worker's sessions per second; 0: as fast as `concurrency` allows. */
  ratePerSec: number;
  /** Connects in flight at most. */
  concurrency: number;
  /** Per session: give up (count a failure) after this long. */
  timeoutMs: number;
  /** The global index of this worker's first session (source address round-robin). */
  offset: number;
}

export interface CloseCommand {
  kind: 'close';
  ratePerSec: number;
  concurrency: number;
  timeoutMs: number;
}

export interface HoldCommand {
  kind: 'hold';
  durationMs: number;
  /** 0: no probes (the client's own pings keep the sessions alive). */
  probeIntervalMs: number;
  probePath: string;
}

export interface OpsCommand {
  kind: 'ops';
  /** Share of reads (getData); the rest are writes (setData). */
  readRatio: number;
  depth: number;
  warmupMs: number;
  durationMs: number;
  paths: string[];
  dataBytes: number;
}

export interface WatchArmCommand {
  kind: 'watchArm';
  path: string;
  timeoutMs: number;
}

export interface WatchWaitCommand {
  kind: 'watchWait';
  timeoutMs: number;
}

export interface HerdCommand {
  kind: 'herd';
  /** Wall-clock ms (same clock as `epoch`) at which every worker drops its connections. */
  atMs: number;
  /** Reconnect this long after the drop ... */
  downMs: number;
  /** ... plus a uniform random 0..jitterMs per session. */
  jitterMs: number;
  timeoutMs: number;
  /** Re-attaches in flight per worker at most (lean client). */
  concurrency: number;
}

export type Command = OpenCommand | CloseCommand | HoldCommand | OpsCommand | WatchArmCommand | WatchWaitCommand | HerdCommand;

export interface OpenResult {
  opened: number;
  failed: number;
  errors: Record<string, number>;
  /** Whether the sockets really used the requested source addresses (null: none requested or unknown). */
  sourceAddrsHonoured: boolean | null;
}
export interface CloseResult {
  closed: number;
  timedOut: number;
}
export interface HoldResult {
  connectedAtEnd: number;
  disconnects: number;
  expirations: number;
  probes: number;
  probeErrors: number;
  /** the client's reasons for the disconnects during the hold (digits folded to N), counted */
  disconnectReasons?: Record<string, number>;
  /** Lean client only: pings due while the last was unanswered, replies that failed a check, and
   *  error kinds (each failed check closes its session). */
  pingsLate?: number;
  protocolErrors?: number;
  errors?: Record<string, number>;
}
export interface OpsResult {
  ops: number;
  errors: number;
  errorKinds: Record<string, number>;
}
export interface WatchArmResult {
  armed: number;
  failed: number;
}
export interface WatchWaitResult {
  /** Wall-clock ms of each notification (same clock as `epoch`). */
  arrivals: number[];
  /** Notifications of another type than nodeDataChanged. */
  unexpected: number;
}
export interface HerdResult {
  dropped: number;
  resumed: number;
  /** The server answered 'session expired'. */
  expired: number;
  /** Neither within the timeout. */
  failed: number;
  /** A session came back with another id (should never happen). */
  changedId: number;
  /** Lean client only: ms from the drop to this worker's last session back (0: none back), the
   *  connect attempts retried (refused, shed or slow) and error kinds. */
  allBackMs?: number;
  retries?: number;
  retryReasons?: Record<string, number>;
  errors?: Record<string, number>;
}

export interface CommandMessage {
  type: 'cmd';
  id: number;
  cmd: Command;
}

export type ParentMessage = InitMessage | CommandMessage | { type: 'abort' } | { type: 'exit' };

export interface BucketMessage {
  type: 'bucket';
  sec: number;
  counters: Record<string, number>;
  hists: Record<string, HistogramData>;
}

export interface GaugeMessage {
  type: 'gauge';
  /** Sessions in state 'connected' now. */
  connected: number;
  /** Sessions this worker holds (any state). */
  sessions: number;
  rssBytes: number;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | BucketMessage
  | GaugeMessage
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; error: string };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
