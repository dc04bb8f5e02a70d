// A scripted fake main thread for worker tests: it starts a real session worker thread (the
// compiled dist/src/workers/worker.js), owns the other end of its rings, and lets a test read the
// records the worker sends (request, attach, detach, auth, touch) and answer them by hand
// (reply, attached, event, watchRegister, sessionEnd, upgraded).

import { createTlsCounters } from '../../../../src/shm/tls.js';
import { Worker } from 'node:worker_threads';
import { Channel, createChannelDescriptor, type ChannelDescriptor } from '../../../../src/shm/channel.js';
import { createIpCountTable, type IpCountTable } from '../../../../src/shm/ipcount.js';
import { type ConnThrottle, connThrottleDefaults, createConnThrottle } from '../../../../src/shm/connthrottle.js';
import {
  AttachView,
  AuthView,
  DetachView,
  RecordKind,
  RequestView,
  attachedBytes,
  encodeAttached,
  encodeEvent,
  encodeReplyHeader,
  encodeSessionEnd,
  encodeUpgraded,
  encodeWatchRegister,
  eventBytes,
  replyHeaderBytes,
  sessionEndBytes,
  upgradedBytes,
  watchRegisterBytes,
  type EventReaders,
} from '../../../../src/shm/records.js';
import { SharedStatus } from '../../../../src/shm/status.js';
import { createMetricsBuffer } from '../../../../src/shm/metrics.js';
import type {
  StatsRequestMessage,
  WorkerInit,
  WorkerStats,
  WorkerToMainMessage,
} from '../../../../src/shm/admin.js';

export const workerEntry = new URL('../../../../src/workers/worker.js', import.meta.url);

export type Rec =
  | { kind: 'request'; sidHi: number; sidLo: number; xid: number; op: number; flags: number; timeoutMs: number; body: Buffer }
  | {
      kind: 'attach';
      sidHi: number;
      sidLo: number;
      flags: number;
      timeoutMs: number;
      lastZxidSeen: number;
      connId: number;
      passwdOk: boolean;
      ip: string;
    }
  | { kind: 'detach'; sidHi: number; sidLo: number; connId: number; reason: number }
  | { kind: 'auth'; sidHi: number; sidLo: number; scheme: string; id: string }
  | { kind: 'touch'; ids: [number, number][] };

export type RecKind = Rec['kind'];
type RecOf<K extends RecKind> = Extract<Rec, { kind: K }>;

export interface FakeMainOptions {
  init?: Partial<WorkerInit>;
  /** Share an ip table with another FakeMain (two workers of one server). */
  ipCounts?: IpCountTable;
  /** The server-wide connection throttle (default: off). */
  connThrottle?: ConnThrottle;
  workerIndex?: number;
  /** Listen on this fd instead of a fresh port. */
  listenFd?: number;
}

const requestView = new RequestView();
const attachView = new AttachView();
const detachView = new DetachView();
const authView = new AuthView();

export class FakeMain {
  readonly descriptor: ChannelDescriptor;
  readonly channel: Channel;
  readonly status = new SharedStatus();
  readonly ipCounts: IpCountTable;
  readonly connThrottle: ConnThrottle;
  readonly worker: Worker;
  readonly init: WorkerInit;
  port = 0;
  /** Every record received, in order (tests may inspect the whole history). */
  readonly history: Rec[] = [];
  /** Records not yet taken by next(). */
  readonly #queue: Rec[] = [];
  #waiters: (() => void)[] = [];
  readonly messages: WorkerToMainMessage[] = [];
  #messageWaiters: (() => void)[] = [];
  #pump: Promise<void>;
  #exited: Promise<number>;

  private constructor(options: FakeMainOptions) {
    this.descriptor = createChannelDescriptor({ toMainBytes: 1 << 16, toWorkerBytes: 1 << 16 });
    this.channel = new Channel(this.descriptor, 'main', { timeoutMs: 20 });
    this.ipCounts = options.ipCounts ?? createIpCountTable(1024);
    this.connThrottle = options.connThrottle ?? createConnThrottle(connThrottleDefaults, performance.timeOrigin + performance.now());
    this.status.lastZxid = 100;
    this.status.serving = true;
    const workerIndex = options.workerIndex ?? 0;
    this.init = {
      workerIndex,
      workerCount: options.listenFd === undefined ? 1 : 2,
      serverId: 7,
      channel: this.descriptor,
      status: this.status.buffer,
      ipCounts: this.ipCounts.buffer,
      connThrottle: this.connThrottle.buffer,
      metrics: createMetricsBuffer(workerIndex + 1),
      listen:
        options.listenFd === undefined
          ? { host: '127.0.0.1', port: 0, backlog: 511, mode: 'reusePort' }
          : { host: '127.0.0.1', port: 0, backlog: 511, mode: 'fd', fd: options.listenFd },
      secureListen: null,
      tls: null,
      tlsCounters: createTlsCounters(),
      tickTimeMs: 2000,
      minSessionTimeoutMs: 4000,
      maxSessionTimeoutMs: 40000,
      maxClientCnxns: 0,
      globalOutstandingLimit: 1000,
      juteMaxBufferBytes: 0xfffff,
      localSessionsEnabled: false,
      localSessionsUpgradingEnabled: false,
      fourLetterWhitelist: ['srvr', 'stat', 'ruok', 'cons', 'mntr'],
      sessionSecret: 'test-secret',
      superDigest: null,
      logLevel: process.env['ZKTS_TEST_LOG'] ?? 'silent',
      ...options.init,
    };
    this.worker = new Worker(workerEntry, { workerData: this.init });
    this.worker.on('message', (m: WorkerToMainMessage) => {
      this.messages.push(m);
      const w = this.#messageWaiters;
      this.#messageWaiters = [];
      for (const f of w) f();
    });
    this.#exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.#pump = this.channel.start((kind, view, off, bytes, mem) => this.#onRecord(kind, view, off, bytes, mem));
  }

  static async start(options: FakeMainOptions = {}): Promise<FakeMain> {
    const m = new FakeMain(options);
    const listening = await m.message('listening', 10_000);
    m.port = listening.port;
    return m;
  }

  #onRecord(kind: number, view: DataView, off: number, bytes: number, mem: Buffer): void {
    let rec: Rec;
    switch (kind) {
      case RecordKind.request: {
        const r = requestView.read(view, off, bytes);
        const body = Buffer.from(mem.subarray(r.bodyOffset, r.end));
        const { sidHi, sidLo, xid, op, flags, timeoutMs } = r;
        rec = { kind: 'request', sidHi, sidLo, xid, op, flags, timeoutMs, body };
        break;
      }
      case RecordKind.attach: {
        const a = attachView.read(mem, view, off);
        const { sidHi, sidLo, flags, timeoutMs, lastZxidSeen, connId, passwdOk, ip } = a;
        rec = { kind: 'attach', sidHi, sidLo, flags, timeoutMs, lastZxidSeen, connId, passwdOk, ip };
        break;
      }
      case RecordKind.detach: {
        const d = detachView.read(view, off);
        rec = { kind: 'detach', sidHi: d.sidHi, sidLo: d.sidLo, connId: d.connId, reason: d.reason };
        break;
      }
      case RecordKind.auth: {
        const a = authView.read(mem, view, off);
        rec = { kind: 'auth', sidHi: a.sidHi, sidLo: a.sidLo, scheme: a.scheme, id: a.id };
        break;
      }
      case RecordKind.touch: {
        const n = view.getUint32(off, true);
        const ids: [number, number][] = [];
        for (let i = 0, at = off + 4; i < n; i++, at += 8) {
          ids.push([view.getUint32(at, true), view.getUint32(at + 4, true)]);
        }
        rec = { kind: 'touch', ids };
        break;
      }
      default:
        throw new Error(`fake main: unknown record kind ${kind}`);
    }
    this.history.push(rec);
    this.#queue.push(rec);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The next record (of `kind`, skipping others when `skip` is true). */
  async next<K extends RecKind>(kind: K, options: { timeoutMs?: number; skip?: RecKind[] } = {}): Promise<RecOf<K>> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      while (this.#queue.length > 0) {
        const r = this.#queue.shift()!;
        if (r.kind === kind) return r as RecOf<K>;
        if (options.skip?.includes(r.kind)) continue;
        throw new Error(`fake main: expected a ${kind} record, got ${JSON.stringify(r)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake main: no ${kind} record within the timeout`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Records received but not taken yet. */
  pending(): Rec[] {
    return [...this.#queue];
  }

  /** Wait `ms`, then return (and take) every queued record. */
  async drain(ms: number): Promise<Rec[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.#queue.splice(0);
  }

  async message<T extends WorkerToMainMessage['type']>(type: T, timeoutMs = 5000): Promise<Extract<WorkerToMainMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => m.type === type);
      if (i >= 0) return this.messages.splice(i, 1)[0] as Extract<WorkerToMainMessage, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake main: no ${type} message within the timeout`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#messageWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  // ---- records to the worker -----------------------------------------------------------------

  reply(r: { sidHi: number; sidLo: number; xid: number; zxid?: number; err?: number; flags?: number }, body?: Uint8Array): void {
    const ch = this.channel;
    const n = body?.length ?? 0;
    const off = ch.reserve(RecordKind.reply, replyHeaderBytes + n);
    const at = encodeReplyHeader(ch.view, off, {
      sidHi: r.sidHi,
      sidLo: r.sidLo,
      xid: r.xid,
      err: r.err ?? 0,
      zxid: r.zxid ?? 100,
      flags: r.flags ?? 0,
    });
    if (body !== undefined) ch.bytes.set(body, at);
    ch.commit();
    ch.publish();
  }

  attached(a: { sidHi: number; sidLo: number; connId: number; err?: number; timeoutMs: number; flags?: number }): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.attached, attachedBytes);
    encodeAttached(ch.view, off, {
      sidHi: a.sidHi,
      sidLo: a.sidLo,
      connId: a.connId,
      err: a.err ?? 0,
      timeoutMs: a.timeoutMs,
      flags: a.flags ?? 0,
    });
    ch.commit();
    ch.publish();
  }

  event(e: { type: number; path: string; zxid?: number; targetHi?: number; targetLo?: number; readers?: EventReaders | null }): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.event, eventBytes(e.path, e.readers ?? null));
    const end = encodeEvent(this.#tx(), ch.view, off, {
      targetHi: e.targetHi ?? 0,
      targetLo: e.targetLo ?? 0,
      type: e.type,
      zxid: e.zxid ?? 100,
      path: e.path,
      readers: e.readers ?? null,
    });
    ch.commit(end - off);
    ch.publish();
  }

  watchRegister(w: { sidHi: number; sidLo: number; kind: number; path: string }): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.watchRegister, watchRegisterBytes(w.path));
    const end = encodeWatchRegister(this.#tx(), ch.view, off, w);
    ch.commit(end - off);
    ch.publish();
  }

  sessionEnd(s: { sidHi: number; sidLo: number; reason: number }): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.sessionEnd, sessionEndBytes);
    encodeSessionEnd(ch.view, off, s);
    ch.commit();
    ch.publish();
  }

  upgraded(s: { sidHi: number; sidLo: number }): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.upgraded, upgradedBytes);
    encodeUpgraded(ch.view, off, s);
    ch.commit();
    ch.publish();
  }

  #tx(): Buffer {
    const b = this.channel.bytes;
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  // ---- parentPort ----------------------------------------------------------------------------

  async stats(req: Omit<StatsRequestMessage, 'type' | 'reqId'> = {}): Promise<WorkerStats> {
    const reqId = Math.floor(Math.random() * 1e9);
    this.worker.postMessage({ type: 'stats', reqId, ...req });
    for (;;) {
      const m = await this.message('statsReply');
      if (m.reqId === reqId) return m.stats;
    }
  }

  /** Stop the worker the way the main thread does; resolves with its exit code. */
  async stop(): Promise<number> {
    this.worker.postMessage({ type: 'stop' });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    const code = await this.#exited;
    clearTimeout(timer);
    if (!this.messages.some((m) => m.type === 'stopped')) throw new Error('fake main: no stopped message');
    this.channel.close();
    await this.#pump.catch(() => {});
    return code;
  }
}
