// A herd on one server (issue 11, goal 5; seed 001): S sessions drop their connections at the
// same instant and reconnect at once, each re-establishing its own session with its id and
// password (not new sessions). How long until all are back, how many came back expired or not at
// all, and how many connections the kernel dropped at the listen queue meanwhile.
//
//   npm run bench:herd -- [--sessions 19500] [--workers 2] [--port 25300] [--timeout-ms 30000]
//                         [--wait-s 60] [--throttle-tokens 0] [--throttle-fill-ms 1]
//                         [--throttle-fill-count 1] [--backlog N] [--target zkts|apache]
//                         [--procs N] [--concurrency 256] [--global]
//
// The server: one standalone server with local sessions (localSessionsEnabled=true), started as
// the test harness starts it (tickTime 2000, so a 30 s timeout is granted). The load: a lean
// raw-socket client in child processes, as many as the open-file cap needs (sessions per process
// stay below its soft RLIMIT_NOFILE); each speaks the real protocol (ConnectRequest /
// ConnectResponse, pings every timeout/3 so nothing expires for want of them) and checks every
// ConnectResponse: same session id back, or "expired" (timeOut 0), or a refusal.
//
// A connection closed before its ConnectResponse (a throttle refusal, a reset) is tried again
// after 0-50 ms (a stock client's pause is longer: ZooKeeper's ClientCnxn waits up to 1 s before
// another attempt on the same host list); every try is counted.
//
// Listen-queue losses are read from /proc/net/netstat before and after (TcpExt ListenOverflows,
// ListenDrops, TCPReqQFullDrop, TCPReqQFullDoCookies): these are host-wide counters, so run it
// with nothing else connecting on the machine.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { OpCode, Xid } from '../src/common/zk.js';
import { fourLetter, startServer, type ServerKind } from '../test/integration/harness/server.js';

// ---- the lean client (one per session) ------------------------------------------------------

const passwdBytes = 16;
/** Bytes of a ConnectResponse frame with its length prefix and readOnly byte. */
const connectResponseFrameBytes = 4 + 4 + 4 + 8 + 4 + passwdBytes + 1;
const retryPauseMsMax = 50;
/** Reconnects issued per event-loop turn in the herd. */
const issueSliceSessions = 256;

function connectRequest(timeoutMs: number, sessionId: bigint, passwd: Buffer): Buffer {
  const b = Buffer.alloc(4 + 4 + 8 + 4 + 8 + 4 + passwdBytes + 1);
  let o = b.writeInt32BE(b.length - 4, 0);
  o = b.writeInt32BE(0, o); // protocolVersion
  o = b.writeBigInt64BE(0n, o); // lastZxidSeen
  o = b.writeInt32BE(timeoutMs, o);
  o = b.writeBigInt64BE(sessionId, o);
  o = b.writeInt32BE(passwdBytes, o);
  passwd.copy(b, o);
  b.writeUInt8(0, o + passwdBytes); // readOnly
  return b;
}

const pingFrame = (() => {
  const b = Buffer.alloc(12);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(Xid.ping, 4);
  b.writeInt32BE(OpCode.ping, 8);
  return b;
})();

interface Sess {
  id: bigint;
  passwd: Buffer;
  sock: net.Socket | null;
  /** Bytes of the ConnectResponse so far (before it is complete). */
  head: Buffer | null;
  connected: boolean;
  /** performance.now() when it got its session back; 0 while not. */
  backAtMs: number;
  expired: boolean;
  changedId: boolean;
}

interface OpenMsg { type: 'open'; port: number; n: number; timeoutMs: number; concurrency: number }
interface HerdMsg { type: 'herd'; atWallMs: number; waitMs: number }
type ParentMsg = OpenMsg | HerdMsg | { type: 'close' };

export interface HerdResult {
  dropped: number;
  back: number;
  expired: number;
  changedId: number;
  notBack: number;
  tries: number;
  /** ms from the drop to each session's ConnectResponse (sessions that came back). */
  backMs: number[];
  /** ms this process spent issuing the reconnects (its own CPU, not the server's). */
  issueMs: number;
  /** CPU (user + system) this load process used from the drop until all were back, ms. */
  cpuMs: number;
}

class Load {
  readonly sessions: Sess[] = [];
  port = 0;
  timeoutMs = 30_000;
  tries = 0;
  #pingTimer: NodeJS.Timeout | null = null;
  #pingNext = 0;
  #onBack: ((s: Sess) => void) | null = null;

  /** Connect `s` (new session when its id is 0), retrying on a close before the answer. */
  connect(s: Sess, done: () => void): void {
    this.tries++;
    const sock = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true });
    s.sock = sock;
    s.head = null;
    s.connected = false;
    sock.on('connect', () => sock.write(connectRequest(this.timeoutMs, s.id, s.passwd)));
    sock.on('data', (d: Buffer) => {
      if (s.connected) return; // ping replies: not looked at
      s.head = s.head === null ? d : Buffer.concat([s.head, d]);
      if (s.head.length < connectResponseFrameBytes) return;
      const r = s.head;
      s.head = null;
      const timeOut = r.readInt32BE(8);
      const id = r.readBigInt64BE(12);
      if (timeOut === 0) {
        s.expired = true;
        sock.destroy();
        done();
        return;
      }
      if (s.id !== 0n && id !== s.id) s.changedId = true;
      s.id = id;
      r.copy(s.passwd, 0, 24, 24 + passwdBytes);
      s.connected = true;
      s.backAtMs = performance.now();
      this.#onBack?.(s);
      done();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      if (s.sock !== sock || s.connected || s.expired) return;
      // Closed before an answer: refused (throttle), reset or never accepted. Again, shortly.
      setTimeout(() => this.connect(s, done), Math.random() * retryPauseMsMax);
    });
  }

  async open(m: OpenMsg): Promise<{ opened: number; ms: number }> {
    this.port = m.port;
    this.timeoutMs = m.timeoutMs;
    const t0 = performance.now();
    let next = 0;
    let done = 0;
    await new Promise<void>((resolve) => {
      const one = (): void => {
        done++;
        if (next < m.n) start();
        if (done === m.n) resolve();
      };
      const start = (): void => {
        const s: Sess = { id: 0n, passwd: Buffer.alloc(passwdBytes), sock: null, head: null, connected: false, backAtMs: 0, expired: false, changedId: false };
        this.sessions.push(s);
        next++;
        this.connect(s, one);
      };
      for (let i = 0; i < Math.min(m.concurrency, m.n); i++) start();
    });
    this.#startPings();
    return { opened: this.sessions.filter((s) => s.connected).length, ms: performance.now() - t0 };
  }

  /** Every session pinged once per timeout/3, spread over 100 ms slices. */
  #startPings(): void {
    const sliceMs = 100;
    const perSlice = Math.max(1, Math.ceil(this.sessions.length / (this.timeoutMs / 3 / sliceMs)));
    this.#pingTimer = setInterval(() => {
      for (let i = 0; i < perSlice && this.sessions.length > 0; i++) {
        const s = this.sessions[this.#pingNext++ % this.sessions.length]!;
        if (s.connected) s.sock?.write(pingFrame);
      }
    }, sliceMs);
  }

  async herd(m: HerdMsg): Promise<HerdResult> {
    await new Promise((r) => setTimeout(r, Math.max(0, m.atWallMs - Date.now())));
    const ss = this.sessions.filter((s) => s.connected);
    const dropAt = performance.now();
    const cpu0 = process.cpuUsage();
    for (const s of ss) {
      s.connected = false;
      s.backAtMs = 0;
      const old = s.sock;
      s.sock = null;
      old?.destroy();
    }
    const triesBefore = this.tries;
    let left = ss.length;
    let issueMs = 0;
    const allBack = new Promise<void>((resolve) => {
      if (left === 0) resolve();
      const back = (): void => {
        if (--left === 0) resolve();
      };
      // As fast as this process can, a slice per event-loop turn: one loop over every session
      // would hold back each socket's ConnectRequest (written on its 'connect' event) until the
      // last connect() was issued, which no herd of separate clients does.
      let i = 0;
      const slice = (): void => {
        const end = Math.min(ss.length, i + issueSliceSessions);
        for (; i < end; i++) this.connect(ss[i]!, back);
        if (i < ss.length) setImmediate(slice);
        else issueMs = performance.now() - dropAt;
      };
      slice();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allBack, new Promise<void>((r) => (timer = setTimeout(r, m.waitMs)))]);
    clearTimeout(timer);
    const back = ss.filter((s) => s.connected);
    const cpu = process.cpuUsage(cpu0);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      dropped: ss.length,
      back: back.length,
      expired: ss.filter((s) => s.expired).length,
      changedId: ss.filter((s) => s.changedId).length,
      notBack: ss.filter((s) => !s.connected && !s.expired).length,
      tries: this.tries - triesBefore,
      backMs: back.map((s) => s.backAtMs - dropAt),
      issueMs,
    };
  }

  close(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    for (const s of this.sessions) s.sock?.destroy();
  }
}

function childMain(): void {
  const load = new Load();
  process.on('message', (m: ParentMsg) => {
    if (m.type === 'open') void load.open(m).then((r) => process.send?.({ type: 'opened', ...r }));
    else if (m.type === 'herd') void load.herd(m).then((r) => process.send?.({ type: 'herdDone', result: r }));
    else {
      load.close();
      process.exit(0);
    }
  });
}

// ---- the parent -----------------------------------------------------------------------------

function openFilesSoftCap(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const n = Number(line?.split(/\s+/)[3]);
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

const netstatKeys = ['ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop', 'TCPReqQFullDoCookies'] as const;
function netstat(): Record<string, number> {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  const out: Record<string, number> = {};
  for (const k of netstatKeys) out[k] = values[names.indexOf(k)] ?? Number.NaN;
  return out;
}

/** CPU (user + system, ms) used so far by `pid` and every process under it (the launcher's
 *  server process, a JVM under its script). */
function treeCpuMs(pid: number): number {
  const tick = 10; // USER_HZ is 100 on Linux
  let ms = 0;
  const visit = (p: number): void => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms += (Number(f[11]) + Number(f[12])) * tick; // utime, stime (fields 14 and 15)
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return ms;
}

function reply<T>(c: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }): void => {
      if (m.type !== type) return;
      c.off('message', onMsg);
      resolve(m as T);
    };
    c.on('message', onMsg);
    c.once('exit', (code) => reject(new Error(`a load process exited (${code})`)));
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      sessions: { type: 'string', default: '19500' },
      workers: { type: 'string', default: '2' },
      port: { type: 'string', default: '25300' },
      'timeout-ms': { type: 'string', default: '30000' },
      'wait-s': { type: 'string', default: '60' },
      'throttle-tokens': { type: 'string', default: '0' },
      'throttle-fill-ms': { type: 'string', default: '1' },
      'throttle-fill-count': { type: 'string', default: '1' },
      backlog: { type: 'string' },
      concurrency: { type: 'string', default: '256' },
      target: { type: 'string', default: 'zkts' },
      procs: { type: 'string' },
      global: { type: 'boolean', default: false },
    },
  });
  const n = Number(v.sessions);
  const timeoutMs = Number(v['timeout-ms']);
  const kind = v.target as ServerKind;
  const perProcess = openFilesSoftCap() - 200;
  // As few load processes as the open-file cap allows, or --procs of them (never fewer).
  const procs = Math.max(Math.ceil(n / perProcess), Number(v.procs ?? 1));
  // Local sessions (the observer tier's kind) unless --global: then global sessions, which Apache
  // re-establishes too (its local sessions came back "expired" after a drop in our runs).
  const extra: Record<string, string> = { localSessionsEnabled: String(!v.global), sessionWorkers: String(v.workers) };
  if (Number(v['throttle-tokens']) > 0) {
    extra['connection_throttle_tokens'] = String(v['throttle-tokens']);
    extra['connection_throttle_fill_time'] = String(v['throttle-fill-ms']);
    extra['connection_throttle_fill_count'] = String(v['throttle-fill-count']);
  }
  if (v.backlog !== undefined) extra['clientPortListenBacklog'] = v.backlog;
  console.log(`# bench:herd  ${n} sessions in ${procs} load process(es), server ${kind}${kind === 'zkts' ? ` with ${v.workers} session worker(s)` : ''}, ${v.global ? 'global' : 'local'} sessions, timeout ${timeoutMs} ms`);
  console.log(`# somaxconn ${readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} cores`);
  const server = await startServer(kind, { port: Number(v.port), maxClientCnxns: 0, maxSessionTimeout: Math.max(40_000, timeoutMs), extra, startTimeoutMs: 60_000 });
  const children = Array.from({ length: procs }, () => fork(fileURLToPath(import.meta.url), ['--child'], { stdio: 'inherit' }));
  try {
    const shares = children.map((_, i) => Math.floor(n / procs) + (i < n % procs ? 1 : 0));
    const t0 = performance.now();
    const opened = await Promise.all(
      children.map((c, i) => {
        const r = reply<{ opened: number; ms: number }>(c, 'opened');
        c.send({ type: 'open', port: server.port, n: shares[i] ?? 0, timeoutMs, concurrency: Number(v.concurrency) } satisfies OpenMsg);
        return r;
      }),
    );
    const openedN = opened.reduce((a, r) => a + r.opened, 0);
    const openMs = performance.now() - t0;
    console.log(`# opened ${openedN}/${n} sessions in ${(openMs / 1000).toFixed(1)} s (${Math.round(openedN / (openMs / 1000))}/s, ${v.concurrency} in flight per process)`);
    await new Promise((r) => setTimeout(r, 1000)); // let the accept queues settle
    const before = netstat();
    const rejectedBefore = await rejected(server.port);
    const atWallMs = Date.now() + 300;
    const serverCpu0 = treeCpuMs(server.pid);
    const results = await Promise.all(
      children.map((c) => {
        const r = reply<{ result: HerdResult }>(c, 'herdDone');
        c.send({ type: 'herd', atWallMs, waitMs: Number(v['wait-s']) * 1000 } satisfies HerdMsg);
        return r.then((x) => x.result);
      }),
    );
    const after = netstat();
    const serverCpuMs = treeCpuMs(server.pid) - serverCpu0;
    const sum = (k: keyof HerdResult): number => results.reduce((a, r) => a + (r[k] as number), 0);
    const backMs = results.flatMap((r) => r.backMs);
    const allBack = sum('back') === sum('dropped');
    const sessionsNow = await mntrValue(server.port, v.global ? 'zk_global_sessions' : 'zk_local_sessions');
    const rows: [string, string][] = [
      ['sessions dropped at once', String(sum('dropped'))],
      ['back (same session) / expired / not back / other id', `${sum('back')} / ${sum('expired')} / ${sum('notBack')} / ${sum('changedId')}`],
      ['all back after', allBack ? `${Math.round(Math.max(...backMs))} ms` : `not all within ${v['wait-s']} s`],
      ['first back after', `${Math.round(pct(backMs, 0))} ms`],
      ['back p50 / p90 / p99 / max', [50, 90, 99, 100].map((p) => `${Math.round(pct(backMs, p))}`).join(' / ') + ' ms'],
      ['connect tries (incl. retries after refusal)', String(sum('tries'))],
      ['load: issuing the reconnects took', `${Math.round(Math.max(...results.map((r) => r.issueMs)))} ms`],
      ['CPU during the herd: server / load processes', `${Math.round(serverCpuMs)} / ${Math.round(sum('cpuMs'))} ms`],
      ['throttle refusals (zk_connection_rejected)', String((await rejected(server.port)) - rejectedBefore)],
      ...netstatKeys.map((k): [string, string] => [`${k} (host-wide, during the herd)`, String(after[k]! - before[k]!)]),
      [`${v.global ? 'zk_global_sessions' : 'zk_local_sessions'} after`, String(sessionsNow)],
    ];
    for (const [k, val] of rows) console.log(`${k.padEnd(52)} ${val}`);
    console.log(`# load after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    for (const c of children) c.send({ type: 'close' });
    await server.stop();
  }
}

async function mntrValue(port: number, key: string): Promise<number> {
  const line = (await fourLetter(port, 'mntr', 30_000)).split('\n').find((l) => l.startsWith(`${key}\t`));
  return line === undefined ? Number.NaN : Number(line.split('\t')[1]);
}

function rejected(port: number): Promise<number> {
  return mntrValue(port, 'zk_connection_rejected');
}

if (process.argv.includes('--child')) childMain();
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
