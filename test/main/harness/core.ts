// A scripted fake of everything around the main thread's Core, for direct tests of it (as
// test/workers/harness/ drives a real worker with a fake main thread): an Outbound that records
// every record the core sends, a log stage whose writes become durable when the test says, a
// Replication (ensemble mode) the test steers by hand, and a clock that moves only when told.
// Records from workers are built as a worker builds them (shm/records.ts encoders, read back
// through the views the bridge uses), request bodies with the jute encoders.
//
// The Core is constructed here and nowhere else in test/main, so a change of its constructor is
// one edit.

import { Core, type Outbound, type Replication } from '../../../src/main/core.js';
import type { LogStage } from '../../../src/main/pipeline/log-stage.js';
import { createLogger } from '../../../src/main/logger.js';
import type { ForwardMsg } from '../../../src/main/net/codec.js';
import { ZkDatabase, type PreparedTxn } from '../../../src/main/pipeline/database.js';
import type { SessionContext } from '../../../src/main/sessions/table.js';
import { sessionIdHi, sessionIdLo, sessionIdOf } from '../../../src/common/ids.js';
import { Perms } from '../../../src/common/zk.js';
import { JuteReader, JuteWriter, decodeResponse, encodeRequest } from '../../../src/protocol/jute/index.js';
import type { ACL, ClientRequest, ClientResponse } from '../../../src/protocol/types.js';
import {
  AttachView,
  DetachView,
  RequestView,
  SessionFlag,
  attachBytes,
  detachBytes,
  encodeAttach,
  encodeDetach,
  encodeRequestHeader,
  requestHeaderBytes,
  touchBytes,
  type EventReaders,
} from '../../../src/shm/records.js';

/** One call the core made on its Outbound, in the order made (flush is counted apart). */
export type OutCall =
  | {
      kind: 'reply';
      worker: number;
      session: bigint;
      xid: number;
      zxid: number;
      err: number;
      flags: number;
      /** The body decoded as the reply to the op the harness sent with this xid; null: none. */
      res: ClientResponse['res'] | null;
    }
  | { kind: 'attached'; worker: number; session: bigint; connId: number; err: number; timeoutMs: number; flags: number }
  | { kind: 'event'; worker: number; target: bigint; type: number; zxid: number; path: string; readers: EventReaders | null }
  | { kind: 'watchRegister'; worker: number; session: bigint; watch: number; path: string }
  | { kind: 'sessionEnd'; worker: number; session: bigint; reason: number }
  | { kind: 'upgraded'; worker: number; session: bigint };

export const openAcl: ACL[] = [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }];

export class FakeOutbound implements Outbound {
  calls: OutCall[] = [];
  flushes = 0;
  constructor(private readonly opOf: (session: bigint, xid: number) => number | undefined) {}

  reply(worker: number, s: SessionContext, xid: number, zxid: number, err: number, body: Uint8Array | null, flags: number): void {
    let res: ClientResponse['res'] | null = null;
    const op = this.opOf(s.id, xid);
    // (the core's reply writer is reused: the body is read now, before the next reply)
    if (body !== null && op !== undefined) res = decodeResponse(op, new JuteReader(Uint8Array.from(body))).res;
    this.calls.push({ kind: 'reply', worker, session: s.id, xid, zxid, err, flags, res });
  }
  attached(worker: number, hi: number, lo: number, connId: number, err: number, timeoutMs: number, flags: number): void {
    this.calls.push({ kind: 'attached', worker, session: sessionIdOf(hi, lo), connId, err, timeoutMs, flags });
  }
  event(worker: number, targetHi: number, targetLo: number, type: number, zxid: number, path: string, readers: EventReaders | null): void {
    this.calls.push({ kind: 'event', worker, target: sessionIdOf(targetHi, targetLo), type, zxid, path, readers });
  }
  watchRegister(worker: number, s: SessionContext, kind: number, path: string): void {
    this.calls.push({ kind: 'watchRegister', worker, session: s.id, watch: kind, path });
  }
  sessionEnd(worker: number, s: SessionContext, reason: number): void {
    this.calls.push({ kind: 'sessionEnd', worker, session: s.id, reason });
  }
  upgraded(worker: number, s: SessionContext): void {
    this.calls.push({ kind: 'upgraded', worker, session: s.id });
  }
  flush(): void {
    this.flushes++;
  }
}

/** A log stage whose flushes complete only when the test calls durable(). */
export class FakeLogStage implements LogStage<PreparedTxn> {
  readonly appended: PreparedTxn[] = [];
  private readonly waiting: (() => void)[] = [];
  append(entry: PreparedTxn): void {
    this.appended.push(entry);
  }
  flush(done: () => void): void {
    this.waiting.push(done);
  }
  /** Flushes asked for and not yet complete. */
  get flushesWaiting(): number {
    return this.waiting.length;
  }
  /** The oldest flush completes (what was appended before it asked is durable); false if none. */
  durableOne(): boolean {
    const done = this.waiting.shift();
    if (done === undefined) return false;
    done();
    return true;
  }
  /** Every flush completes, and those they ask for in turn: all that was appended is durable. */
  durable(): void {
    while (this.durableOne());
  }
}

/** Ensemble mode by hand: `leading` is writable(); forward answers `epoch` (-1: no leader). */
export class FakeReplication implements Replication {
  leading = false;
  epoch = 1;
  readonly proposed: PreparedTxn[] = [];
  readonly forwarded: ForwardMsg[] = [];
  readonly notified: { to: number; m: ForwardMsg }[] = [];
  writable(): boolean {
    return this.leading;
  }
  propose(p: PreparedTxn): void {
    this.proposed.push(p);
  }
  forward(m: ForwardMsg): number {
    this.forwarded.push(m);
    return this.epoch;
  }
  notify(to: number, m: ForwardMsg): void {
    this.notified.push({ to, m });
  }
}

export interface CoreHarnessOptions {
  /** myid: the top byte of the session ids the harness makes; default 0. */
  serverId?: number;
  /** Ensemble mode: the core gets a FakeReplication (leading or not); default standalone. */
  ensemble?: 'leader' | 'learner';
  tickTimeMs?: number;
  localSessionsUpgradingEnabled?: boolean;
}

export interface AttachOptions {
  /** A new session (SessionFlag.create); else a reconnect. Default true. */
  create?: boolean;
  local?: boolean;
  timeoutMs?: number;
  connId?: number;
  passwdOk?: boolean;
  ip?: string;
}

/** Where a record starts in the fake ring memory: not 0, as in a real ring. */
const recordAt = 16;

export class CoreHarness {
  /** The fake clock (ms); moves only through advance() and tick(). */
  nowMs = 1_700_000_000_000;
  readonly out: FakeOutbound;
  readonly log = new FakeLogStage();
  readonly rep: FakeReplication | null;
  readonly db = new ZkDatabase({ extendedTypesEnabled: false });
  readonly core: Core;
  /** Every zxid the core reported applied (onApplied), in order. */
  readonly applied: number[] = [];
  readonly serverId: number;
  private readonly ops = new Map<string, number>();
  private sessionsMade = 0;

  constructor(o: CoreHarnessOptions = {}) {
    this.serverId = o.serverId ?? 0;
    this.out = new FakeOutbound((session, xid) => this.ops.get(`${session}:${xid}`));
    this.rep = o.ensemble === undefined ? null : new FakeReplication();
    if (this.rep !== null) this.rep.leading = o.ensemble === 'leader';
    const opts = {
      tickTimeMs: o.tickTimeMs ?? 100,
      localSessionsUpgradingEnabled: o.localSessionsUpgradingEnabled ?? false,
      extendedTypesEnabled: false,
      serverId: this.serverId,
      sessionSecretConfigured: true,
    };
    const logger = createLogger('silent', 'core-test');
    this.core = new Core({
      db: this.db,
      log: this.log,
      out: this.out,
      opts,
      logger,
      now: () => this.nowMs,
      onApplied: (zxid) => this.applied.push(zxid),
      replication: this.rep,
    });
  }

  /** What the core sent since the last take, in order. */
  take(): OutCall[] {
    return this.out.calls.splice(0);
  }

  /** The replies among take(), as [xid, err, zxid]. */
  takeReplies(): [number, number, number][] {
    return this.take().flatMap((c) => (c.kind === 'reply' ? [[c.xid, c.err, c.zxid] as [number, number, number]] : []));
  }

  /** A session id this server's worker would make: myid in the top byte. */
  newSessionId(): bigint {
    return (BigInt(this.serverId) << 56n) | BigInt(++this.sessionsMade);
  }

  /** The attach record a worker sends for a new session (or a reconnect of `session`). */
  attach(worker: number, session: bigint, o: AttachOptions = {}): void {
    let flags = 0;
    if (o.create ?? true) flags |= SessionFlag.create;
    if (o.local === true) flags |= SessionFlag.local;
    const fields = {
      sidHi: sessionIdHi(session),
      sidLo: sessionIdLo(session),
      flags,
      timeoutMs: o.timeoutMs ?? 4000,
      lastZxidSeen: 0,
      connId: o.connId ?? 1,
      passwdOk: o.passwdOk ?? true,
      ip: o.ip ?? '10.0.0.1',
    };
    const { mem, view } = ringMemory(attachBytes(fields));
    encodeAttach(mem, view, recordAt, fields);
    this.core.onAttach(worker, new AttachView().read(mem, view, recordAt));
  }

  /**
   * A new session, attached and answered: standalone its createSession is made durable; a
   * leader's is applied as committed. Not for a learner (the leader creates its sessions).
   */
  openSession(worker = 0, o: Omit<AttachOptions, 'create'> = {}): bigint {
    const id = this.newSessionId();
    this.attach(worker, id, o);
    if (o.local !== true) {
      if (this.rep === null) this.log.durable();
      else this.commitProposed();
    }
    const calls = this.take();
    if (o.local !== true && !(calls.length === 1 && calls[0]?.kind === 'attached' && calls[0].err === 0)) {
      throw new Error(`openSession: unexpected ${JSON.stringify(calls, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
    }
    return id;
  }

  /** A client request as the ring carries it: header, then the jute body `q` encodes. */
  request(worker: number, session: bigint, xid: number, q: ClientRequest): void {
    const w = new JuteWriter();
    encodeRequest(w, q);
    this.requestRaw(worker, session, xid, q.op, w.bytes());
  }

  /** A request with a body given as bytes (a closeSession's is empty). */
  requestRaw(worker: number, session: bigint, xid: number, op: number, body: Uint8Array = new Uint8Array(0)): void {
    this.ops.set(`${session}:${xid}`, op);
    const { mem, view } = ringMemory(requestHeaderBytes + body.length);
    const header = { sidHi: sessionIdHi(session), sidLo: sessionIdLo(session), xid, op, flags: 0, timeoutMs: 0 };
    const bodyAt = encodeRequestHeader(view, recordAt, header);
    mem.set(body, bodyAt);
    const r = new RequestView().read(view, recordAt, requestHeaderBytes + body.length);
    this.core.onRequest(worker, r, mem);
    mem.fill(0xee); // the ring slot is reused at once: the core must have copied what it keeps
  }

  detach(worker: number, session: bigint, connId: number, reason: number): void {
    const { view } = ringMemory(detachBytes);
    encodeDetach(view, recordAt, { sidHi: sessionIdHi(session), sidLo: sessionIdLo(session), connId, reason });
    this.core.onDetach(worker, new DetachView().read(view, recordAt));
  }

  /** A worker's touch batch for these sessions. */
  touch(...sessions: bigint[]): void {
    const { view } = ringMemory(touchBytes(sessions.length));
    view.setUint32(recordAt, sessions.length, true);
    sessions.forEach((id, i) => {
      view.setUint32(recordAt + 4 + i * 8, sessionIdHi(id), true);
      view.setUint32(recordAt + 8 + i * 8, sessionIdLo(id), true);
    });
    this.core.onTouch(view, recordAt);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  /** The clock moves `ms`, then the core's tick runs. */
  tick(ms = 0): void {
    this.advance(ms);
    this.core.tick();
  }

  /** Ensemble mode: every txn proposed so far is committed and applied, in order. */
  commitProposed(): PreparedTxn[] {
    const ps = this.rep!.proposed.splice(0);
    for (const p of ps) this.core.applyCommitted(p);
    return ps;
  }
}

function ringMemory(recordBytes: number): { mem: Uint8Array; view: DataView } {
  const mem = new Uint8Array(recordAt + recordBytes + 16).fill(0xee);
  return { mem, view: new DataView(mem.buffer) };
}
