// A local ensemble for the ensemble side-by-side bench: Apache ZooKeeper 3.8 (the Debian
// package, QuorumPeerMain with the JVM flags of the 'bench' profile) or zkts
// (`node bin/zkts.js server <zoo.cfg>`), one child process per member, each with its own
// directory (zoo.cfg, data/myid, server.log). Both kinds get the same zoo.cfg keys.
//
// Ports: member i (0-based, voters first) has client port base + 10*i, quorum port +1, election
// port +2. Every wait here is bounded; stop() ends every process this module started, by PID.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { portInUse, repoRoot } from '../test/integration/harness/server.js';
import { fourLetter } from '../src/main/ensemble/cli.js';

export { fourLetter };

export type Kind = 'zkts' | 'apache';
export type Role = 'participant' | 'observer';

export interface EnsembleOptions {
  kind: Kind;
  voters: number;
  observers: number;
  basePort: number;
  /** parent directory: one member<N> directory per member is made under it */
  dir: string;
  tickTime: number;
  /** extra zoo.cfg keys, the same on every member (e.g. localSessionsEnabled=true) */
  extra?: Record<string, string>;
  /** zoo.cfg keys for zkts members only (e.g. logLevel); empty by default */
  zktsOnly?: Record<string, string>;
  /** zoo.cfg keys for one member, after the others (e.g. a tier profile on one observer) */
  perMember?: (spec: MemberSpec) => Record<string, string>;
  startTimeoutMs: number;
}

export interface MemberSpec {
  id: number;
  role: Role;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dir: string;
  dataDir: string;
  configPath: string;
  logPath: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';


/** srvr's Mode (leader, follower, observer, standalone, looking...), or null (no answer / not serving). */
export async function modeOf(port: number, timeoutMs = 1000): Promise<string | null> {
  const text = await fourLetter(port, 'srvr', timeoutMs);
  if (text === null || text.startsWith(NOT_SERVING)) return null;
  return /Mode: (\w+)/.exec(text)?.[1] ?? null;
}

/** mntr as a map (key -> value text); empty on no answer. */
export async function mntr(port: number, timeoutMs = 1000): Promise<Map<string, string>> {
  const text = await fourLetter(port, 'mntr', timeoutMs);
  const m = new Map<string, string>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split('\t');
    if (k !== undefined && v !== undefined && k !== '') m.set(k.trim(), v.trim());
  }
  return m;
}

function apacheArgs(configPath: string): { cmd: string; args: string[] } {
  const java = process.env['ZKTS_APACHE_JAVA'] ?? '/usr/bin/java';
  const classpath =
    process.env['ZKTS_APACHE_CLASSPATH'] ??
    ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'].join(':');
  return {
    cmd: java,
    args: [
      // as test/integration/harness/server.ts's 'bench' profile: the JVM's own defaults, 2 GiB heap
      '-Xms512m',
      '-Xmx2g',
      '-Dzookeeper.jmx.log4j.disable=true',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
      '-Dzookeeper.4lw.commands.whitelist=*',
      '-cp',
      classpath,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      configPath,
    ],
  };
}

/**
 * Extra node options for zkts members, from ZKTS_MEMBER_NODE_ARGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile every member (the launcher passes its execArgv
 * on to the server process).
 */
function memberNodeArgs(): string[] {
  return (process.env['ZKTS_MEMBER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
}

export class Member {
  child: ChildProcess | null = null;
  /** the launcher / JVM PID (what spawn returned) */
  pid = 0;
  exited = true;
  exitDescription = '';
  private exitPromise: Promise<void> = Promise.resolve();
  /** start() calls so far */
  starts = 0;

  constructor(
    readonly kind: Kind,
    readonly spec: MemberSpec,
  ) {}

  start(): void {
    const { cmd, args } =
      this.kind === 'apache'
        ? apacheArgs(this.spec.configPath)
        : { cmd: process.execPath, args: [...memberNodeArgs(), path.join(repoRoot(), 'bin', 'zkts.js'), 'server', this.spec.configPath] };
    const fd = fs.openSync(this.spec.logPath, 'a');
    fs.writeSync(fd, `\n===== ${new Date().toISOString()} start #${this.starts + 1}: ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd: this.spec.dir, stdio: ['ignore', fd, fd], env: process.env });
    fs.closeSync(fd);
    this.starts++;
    this.child = child;
    this.exited = false;
    this.exitDescription = '';
    this.exitPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.exitDescription = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
        resolve();
      });
      child.once('error', (e) => {
        this.exited = true;
        this.exitDescription = `spawn error ${e.message}`;
        resolve();
      });
    });
    this.pid = child.pid ?? 0;
  }

  /** The PIDs to signal for a hard kill: zkts on Node 20 runs a launcher whose child is the
   *  real server (it holds the quorum sockets), so that child first, then the launcher. */
  processTree(): number[] {
    if (this.pid === 0) return [];
    const kids: number[] = [];
    try {
      for (const t of fs.readdirSync(`/proc/${this.pid}/task`)) {
        const text = fs.readFileSync(`/proc/${this.pid}/task/${t}/children`, 'utf8').trim();
        for (const p of text.split(/\s+/)) if (p !== '') kids.push(Number(p));
      }
    } catch {
      // gone, or no /proc
    }
    return [...kids, this.pid];
  }

  /** SIGKILL (the server process first, then its launcher); resolves when the spawned process has exited (bounded). */
  async kill(): Promise<void> {
    if (this.exited) return;
    for (const p of this.processTree()) safeKill(p, 'SIGKILL');
    await this.waitExit(10_000);
  }

  /** SIGTERM, then SIGKILL after graceMs; bounded. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const tree = this.processTree();
    safeKill(this.pid, 'SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      for (const p of tree) safeKill(p, 'SIGKILL');
      await this.waitExit(5000);
    }
    // a zkts server whose launcher is gone kills itself; make sure anyway
    for (const p of tree) if (p !== this.pid && alive(p)) safeKill(p, 'SIGKILL');
  }

  async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exitPromise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return this.exited;
  }

  /** The last `bytes` of the member's log. */
  logTail(bytes = 4000): string {
    try {
      const text = fs.readFileSync(this.spec.logPath, 'utf8');
      return text.slice(Math.max(0, text.length - bytes));
    } catch {
      return '';
    }
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class Ensemble {
  readonly members: Member[];

  private constructor(
    readonly o: EnsembleOptions,
    members: Member[],
  ) {
    this.members = members;
  }

  static plan(o: EnsembleOptions): MemberSpec[] {
    const specs: MemberSpec[] = [];
    for (let i = 0; i < o.voters + o.observers; i++) {
      const id = i + 1;
      const clientPort = o.basePort + 10 * i;
      const dir = path.join(o.dir, `member${id}`);
      specs.push({
        id,
        role: i < o.voters ? 'participant' : 'observer',
        clientPort,
        quorumPort: clientPort + 1,
        electionPort: clientPort + 2,
        dir,
        dataDir: path.join(dir, 'data'),
        configPath: path.join(dir, 'zoo.cfg'),
        logPath: path.join(dir, 'server.log'),
      });
    }
    return specs;
  }

  /** Writes the files, starts every member, waits until the ensemble is healthy (bounded). */
  static async start(o: EnsembleOptions): Promise<Ensemble> {
    const specs = Ensemble.plan(o);
    for (const s of specs) {
      for (const p of [s.clientPort, s.quorumPort, s.electionPort]) {
        if (await portInUse(p)) throw new Error(`port ${p} is already in use (ss -ltnp | grep ${p})`);
      }
    }
    const serverLines = specs.map(
      (m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}${m.role === 'observer' ? ':observer' : ''}`,
    );
    for (const s of specs) {
      fs.mkdirSync(s.dataDir, { recursive: true });
      fs.writeFileSync(path.join(s.dataDir, 'myid'), `${s.id}\n`);
      const cfg: Array<[string, string]> = [
        ['tickTime', String(o.tickTime)],
        ['initLimit', '10'],
        ['syncLimit', '5'],
        ['dataDir', s.dataDir],
        ['clientPort', String(s.clientPort)],
        ['clientPortAddress', '127.0.0.1'],
        ['maxClientCnxns', '0'],
        ['admin.enableServer', 'false'],
        ['4lw.commands.whitelist', '*'],
      ];
      if (s.role === 'observer') cfg.push(['peerType', 'observer']);
      for (const [k, v] of Object.entries(o.extra ?? {})) cfg.push([k, v]);
      if (o.kind === 'zkts') for (const [k, v] of Object.entries(o.zktsOnly ?? {})) cfg.push([k, v]);
      for (const [k, v] of Object.entries(o.perMember?.(s) ?? {})) cfg.push([k, v]);
      fs.writeFileSync(s.configPath, [...cfg.map(([k, v]) => `${k}=${v}`), ...serverLines].join('\n') + '\n');
    }
    const e = new Ensemble(o, specs.map((s) => new Member(o.kind, s)));
    try {
      for (const m of e.members) m.start();
      await e.waitHealthy(o.startTimeoutMs);
    } catch (err) {
      await e.stop();
      throw err;
    }
    return e;
  }

  get voters(): Member[] {
    return this.members.filter((m) => m.spec.role === 'participant');
  }
  get observers(): Member[] {
    return this.members.filter((m) => m.spec.role === 'observer');
  }

  static connectString(ms: Member[]): string {
    return ms.map((m) => `127.0.0.1:${m.spec.clientPort}`).join(',');
  }

  /** srvr Mode of every member (null for an exited one or one that does not serve). */
  async modes(): Promise<(string | null)[]> {
    return Promise.all(this.members.map((m) => (m.exited ? Promise.resolve(null) : modeOf(m.spec.clientPort))));
  }

  /** Healthy: every member runs and serves, exactly one leader among the voters, the other
   *  voters follow, the observers observe. Returns the leader; throws after timeoutMs. */
  async waitHealthy(timeoutMs: number): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    let modes: (string | null)[] = [];
    for (;;) {
      const dead = this.members.filter((m) => m.exited);
      if (dead.length > 0) {
        throw new Error(
          `${this.o.kind} member(s) exited: ${dead.map((m) => `${m.spec.id} (${m.exitDescription}; log ${m.spec.logPath}):\n${m.logTail(3000)}`).join('\n')}`,
        );
      }
      modes = await this.modes();
      const leaders = this.members.filter((_m, i) => modes[i] === 'leader');
      const ok = this.members.every((m, i) =>
        m.spec.role === 'observer' ? modes[i] === 'observer' : modes[i] === 'leader' || modes[i] === 'follower',
      );
      if (ok && leaders.length === 1) return leaders[0]!;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.o.kind} ensemble not healthy after ${timeoutMs} ms: modes ${this.members.map((m, i) => `${m.spec.id}=${modes[i] ?? '-'}`).join(' ')}; logs under ${this.o.dir}`,
        );
      }
      await sleep(100);
    }
  }

  /** The member that reports Mode: leader now (null if none / several). */
  async leader(): Promise<Member | null> {
    const modes = await this.modes();
    const leaders = this.members.filter((_, i) => modes[i] === 'leader');
    return leaders.length === 1 ? leaders[0]! : null;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop(5000)));
  }
}

/** SIGKILLs every live member process (and its children) of these ensembles, now: for exit hooks. */
export function killEnsemblesNow(ensembles: Iterable<Ensemble>): void {
  for (const e of ensembles) {
    for (const m of e.members) {
      if (m.exited) continue;
      for (const p of m.processTree()) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
}

/**
 * Runs `killNow` (SIGKILL of everything a bench started) when the process exits or is
 * interrupted, so no member outlives its bench. Installed once per process.
 */
let exitHooked = false;
export function killOnExit(killNow: () => void): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', killNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}
