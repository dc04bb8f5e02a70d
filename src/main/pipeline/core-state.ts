// Everything the main thread's request loop (core.ts) owns, in one object: its seams (database,
// log stage, outbound rings, replication), the session table, and the state of each stage. The
// stages (pipeline/order, writes, sync, replies, replace-state; sessions/lifecycle; forwarding/
// forward; watches/fan-out) are functions over this object and keep no state of their own.

import { aclEntriesMax } from '../../common/limits.js';
import { JuteReader, JuteWriter } from '../../protocol/jute/index.js';
import { juteBufferSlackBytes, juteMaxBufferBytesDefault } from '../../protocol/limits.js';
import type { EventReaders } from '../../shm/records.js';
import type { ForwardMsg } from '../net/codec.js';
import type { Logger } from '../logger.js';
import { LearnerRequests } from '../forwarding/learner-requests.js';
import type { Revalidating } from '../forwarding/forward.js';
import { SessionContext, SessionTable } from '../sessions/table.js';
import { WatchRouter } from '../watches/router.js';
import type { RequestContext } from './context.js';
import type { PreparedTxn, ZkDatabase } from './database.js';
import type { LogStage } from './log-stage.js';
import type { AwaitingSync } from './sync.js';
import type { InFlightWrite } from './writes.js';

/** What the core sends to workers. Implemented by the bridge over the rings. */
export interface Outbound {
  reply(worker: number, s: SessionContext, xid: number, zxid: number, err: number, body: Uint8Array | null, flags: number): void;
  attached(worker: number, hi: number, lo: number, connId: number, err: number, timeoutMs: number, flags: number): void;
  /** `readers`: who may see it (null: every watcher); see watches/readers.ts. */
  event(worker: number, targetHi: number, targetLo: number, type: number, zxid: number, path: string, readers: EventReaders | null): void;
  watchRegister(worker: number, s: SessionContext, kind: number, path: string): void;
  sessionEnd(worker: number, s: SessionContext, reason: number): void;
  upgraded(worker: number, s: SessionContext): void;
  /** Make what was written outside a ring batch (timers, log completions) visible. */
  flush(): void;
  /** Handle what the other workers published but did not wake us for (main/bridge.ts). */
  catchUp?(worker: number): void;
}

/**
 * Ensemble mode (driver.ts): writes are ordered by Zab instead of the local log stage. The core
 * prepares a txn only while `writable()` (an established leader whose tree holds the whole
 * history), hands it to `propose`, and applies it when the driver calls applyCommitted.
 */
export interface Replication {
  writable(): boolean;
  propose(p: PreparedTxn): void;
  /**
   * A follower or observer: sends a client write to the leader (Learner.request). Returns the
   * leader's epoch, or -1 when there is no synced leader to send it to now (the request waits
   * for one: forwarding/learner-requests.ts).
   */
  forward?(m: ForwardMsg): number;
  /** The leader: sends a message to one learner (a session's old owner: it moved). */
  notify?(to: number, m: ForwardMsg): void;
}

export interface CoreOptions {
  tickTimeMs: number;
  localSessionsUpgradingEnabled: boolean;
  extendedTypesEnabled: boolean;
  /** jute.maxbuffer: the largest buffer a request may carry (plus BinaryInputArchive's 1 KiB
   *  slack); default 0xfffff. */
  juteMaxBufferBytes?: number;
  /** This member's id (myid; standalone 0): the owner of sessions attached here. */
  serverId?: number;
  /** `sessionSecret` is configured: the server never writes one into the tree. */
  sessionSecretConfigured?: boolean;
}

/** What a Core is made from (`new Core({ db, log, out, opts, logger, now, onApplied })`). */
export interface CoreParts {
  readonly db: ZkDatabase;
  readonly log: LogStage<PreparedTxn>;
  readonly out: Outbound;
  readonly opts: CoreOptions;
  readonly logger: Logger;
  readonly now: () => number;
  /** After each applied txn (and a SNAP's state), with its zxid. */
  readonly onApplied: (zxid: number) => void;
  /** Ensemble mode; null or absent: standalone (the local log stage orders writes). */
  readonly replication?: Replication | null;
  /** A learner's touches leave for the leader; `ageMs`: how long the oldest waited (exporter). */
  readonly onTouchesSent?: (ageMs: number) => void;
}

/** The reply writer's first capacity (see pipeline/replies.ts for when a grown one is dropped). */
export const writerBytesInitial = 4096;

/** Runs one request of a session now (core.ts's dispatch): how a stage that released a waiting
 *  request hands it back. */
export type Execute = (s: SessionContext, xid: number, op: number, bytes: Uint8Array, start: number, end: number) => void;

export class CoreState {
  readonly db: ZkDatabase;
  readonly log: LogStage<PreparedTxn>;
  readonly out: Outbound;
  readonly opts: CoreOptions;
  readonly logger: Logger;
  readonly now: () => number;
  readonly onApplied: (zxid: number) => void;
  readonly replication: Replication | null;
  readonly sessions: SessionTable;
  readonly router = new WatchRouter();
  /** Client requests: an ACL past aclEntriesMax is refused (InvalidACL) without decoding it all. */
  readonly reader: JuteReader;
  /** Encodes reply bodies; replaced after a large one so its memory is not kept. */
  writer = new JuteWriter(writerBytesInitial);
  /** When the writer last encoded a reply over writerBytesKept; 0: it is small. */
  writerLargeAtMs = 0;
  /** Standalone: writes appended to the log stage and not yet applied, in zxid order. */
  readonly inFlight: InFlightWrite[] = [];
  flushing = false;
  flushAgain = false;
  /** Ensemble mode: writes proposed to Zab and not yet applied, by zxid. */
  readonly proposed = new Map<number, InFlightWrite>();
  /** Ensemble mode, a learner: writes and createSessions that wait for the leader. */
  readonly learnerRequests = new LearnerRequests();
  /** Ensemble mode: syncs waiting until their point is applied here (see pipeline/sync.ts). */
  syncsAwaiting: AwaitingSync[] = [];
  /** Ensemble mode, a learner: global sessions touched since the last TOUCH to the leader. */
  touchedGlobal = new Set<bigint>();
  /** When the first of touchedGlobal came. */
  touchedSinceMs = 0;
  readonly onTouchesSent: (ageMs: number) => void;
  /** Ensemble mode, a learner: reconnects waiting for the leader's revalidation, by session. */
  readonly revalidating = new Map<bigint, Revalidating>();
  readonly serverId: number;
  /** A context for work the server does itself (container reaping): session 0. */
  readonly systemSession: SessionContext;
  readonly stats = { requests: 0, writes: 0, reads: 0, expired: 0 };
  warnedReadersTruncated = false;
  /** Set by the Core: its dispatch. */
  execute: Execute = () => {
    throw new Error('CoreState.execute: no dispatch set');
  };

  constructor(parts: CoreParts) {
    this.db = parts.db;
    this.log = parts.log;
    this.out = parts.out;
    this.opts = parts.opts;
    this.logger = parts.logger;
    this.now = parts.now;
    this.onApplied = parts.onApplied;
    this.replication = parts.replication ?? null;
    this.onTouchesSent = parts.onTouchesSent ?? (() => {});
    this.sessions = new SessionTable(this.opts.tickTimeMs, this.now());
    const juteMaxBufferBytes = this.opts.juteMaxBufferBytes ?? juteMaxBufferBytesDefault;
    this.reader = new JuteReader(undefined, {
      bufferBytesMax: juteMaxBufferBytes + juteBufferSlackBytes,
      aclEntriesKept: aclEntriesMax,
    });
    this.systemSession = new SessionContext({ id: 0n, hi: 0, lo: 0, worker: -1, connId: 0, timeoutMs: 0, local: false, ip: '127.0.0.1' });
    this.systemSession.authIds = [{ scheme: 'super', id: 'zkts' }];
    this.serverId = this.opts.serverId ?? 0;
  }

  /** Standalone, or an established leader: this member prepares writes itself. */
  canOrderWrites(): boolean {
    return this.replication === null || this.replication.writable();
  }

  /** Ensemble mode with a forwarding channel (a member that may be a learner). */
  isEnsemble(): boolean {
    return this.replication?.forward !== undefined;
  }

  contextOf(s: SessionContext, xid: number): RequestContext {
    return { sessionId: s.id, cxid: xid, authIds: s.authIds, isLocalSession: s.local };
  }
}
