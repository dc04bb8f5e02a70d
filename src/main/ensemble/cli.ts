// `zkts ensemble`: a local ensemble on the loopback for trying things out. It writes one zoo.cfg
// and myid per member under --dir, starts each member as a child process
// (`node bin/zkts.js server <cfg>`), prints the members and the connect string, waits until
// every member serves (srvr answers with a Mode other than looking), and on SIGINT / SIGTERM stops them all by PID.
// Ports: member i (0-based, voters first) has client port base + 10*i, quorum port +1,
// election port +2 and AdminServer port +3 (each member its own: ZooKeeper's default, 8080 for
// all, would leave every member but the first without one). Observers are marked `:observer` and have peerType=observer in their own file.
// A member that exits on its own is reported; the ensemble keeps running with the others. If this
// process is SIGKILLed its members keep running (stop them by the PIDs in the table).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ensembleUsage = `usage: zkts ensemble [options]

Starts a local ensemble on 127.0.0.1, one child process per member, and stops it on
SIGINT / SIGTERM (Ctrl-C).

options:
  --voters N        voting members (default 3)
  --observers N     observers (default 0)
  --base-port P     client port of member 1; member i gets P + 10*(i-1), its quorum port +1,
                    election port +2 and AdminServer port +3 (default 2181)
  --dir DIR         one directory per member (zoo.cfg, myid, data, zkts.log) under DIR
                    (default ./ensemble)
  --tick-time MS    tickTime (default 2000)
  --start-timeout S seconds to wait for every member to serve (default 60)
  --help            this text
`;

export interface EnsembleOptions {
  voters: number;
  observers: number;
  basePort: number;
  dir: string;
  tickTime: number;
  startTimeoutS: number;
}

export interface MemberPlan {
  id: number;
  role: 'participant' | 'observer';
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  /** admin.serverPort (on 127.0.0.1). */
  adminPort: number;
  dir: string;
  configPath: string;
}

class UsageError extends Error {}

export function parseEnsembleArgs(args: string[]): EnsembleOptions | 'help' {
  const o: EnsembleOptions = { voters: 3, observers: 0, basePort: 2181, dir: './ensemble', tickTime: 2000, startTimeoutS: 60 };
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${flag} needs a number`);
    const n = Number(v);
    if (n < min || n > max) throw new UsageError(`${flag} must be ${min}..${max}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    switch (a) {
      case '--help':
      case '-h':
        return 'help';
      case '--voters':
        o.voters = int(a, v, 1, 50);
        i++;
        break;
      case '--observers':
        o.observers = int(a, v, 0, 50);
        i++;
        break;
      case '--base-port':
        o.basePort = int(a, v, 1, 65535);
        i++;
        break;
      case '--tick-time':
        o.tickTime = int(a, v, 1, 600_000);
        i++;
        break;
      case '--start-timeout':
        o.startTimeoutS = int(a, v, 1, 3600);
        i++;
        break;
      case '--dir':
        if (v === undefined || v === '') throw new UsageError('--dir needs a directory');
        o.dir = v;
        i++;
        break;
      default:
        throw new UsageError(`unknown option '${a}'`);
    }
  }
  if ((o.voters + o.observers - 1) * 10 + o.basePort + 3 > 65535) throw new UsageError('--base-port too high for that many members');
  return o;
}

export function planMembers(o: EnsembleOptions): MemberPlan[] {
  const dir = resolve(o.dir);
  const members: MemberPlan[] = [];
  for (let i = 0; i < o.voters + o.observers; i++) {
    const id = i + 1;
    const clientPort = o.basePort + 10 * i;
    const mdir = join(dir, `member${id}`);
    members.push({
      id,
      role: i < o.voters ? 'participant' : 'observer',
      clientPort,
      quorumPort: clientPort + 1,
      electionPort: clientPort + 2,
      adminPort: clientPort + 3,
      dir: mdir,
      configPath: join(mdir, 'zoo.cfg'),
    });
  }
  return members;
}

/** The four-letter words an ensemble's members answer (mntr, ruok and stat for watching it). */
export const ensembleFourLetterWords = 'srvr,ruok,stat,mntr,conf,isro';

export function writeMemberFiles(o: EnsembleOptions, members: MemberPlan[]): void {
  const serverLines = members.map(
    (m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}${m.role === 'observer' ? ':observer' : ''}`,
  );
  for (const m of members) {
    const dataDir = join(m.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${m.id}\n`);
    const lines = [
      `tickTime=${o.tickTime}`,
      'initLimit=10',
      'syncLimit=5',
      `dataDir=${dataDir}`,
      `clientPort=${m.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'admin.serverAddress=127.0.0.1',
      `admin.serverPort=${m.adminPort}`,
      // A loopback playground: the monitoring words on (ZooKeeper's default is srvr only), not
      // the ones that print session ids or the environment (cons, dump, wchc, envi).
      `4lw.commands.whitelist=${ensembleFourLetterWords}`,
      ...(m.role === 'observer' ? ['peerType=observer'] : []),
      ...serverLines,
    ];
    writeFileSync(m.configPath, lines.join('\n') + '\n');
  }
}

/** One four-letter word; resolves with the answer, or null on any error / timeout. */
export function fourLetter(port: number, word: string, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      resolve(null);
    }, timeoutMs);
    s.once('connect', () => s.write(word));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('error', () => {
      clearTimeout(t);
      resolve(null);
    });
    s.once('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

async function modeOf(port: number): Promise<string | null> {
  const text = await fourLetter(port, 'srvr', 1000);
  return text === null ? null : (/Mode: (\w+)/.exec(text)?.[1] ?? null);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function binPath(): string {
  // dist/src/main/ensemble/cli.js -> <repo>/bin/zkts.js
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'zkts.js');
}

export async function ensembleCommand(args: string[]): Promise<number> {
  let o: EnsembleOptions;
  try {
    const parsed = parseEnsembleArgs(args);
    if (parsed === 'help') {
      process.stdout.write(ensembleUsage);
      return 0;
    }
    o = parsed;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`zkts ensemble: ${e.message}\n${ensembleUsage}`);
      return 2;
    }
    throw e;
  }
  const members = planMembers(o);
  writeMemberFiles(o, members);

  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));

  const stopAll = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`stopping the ensemble (${why})\n`);
    const live = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of live) if (c.pid !== undefined) safeKill(c.pid, 'SIGTERM');
    // Bounded: 10 s for a clean stop, then SIGKILL, then at most 5 s more.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && live.some((c) => c.exitCode === null && c.signalCode === null)) await sleep(50);
    for (const c of live) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) safeKill(c.pid, 'SIGKILL');
    const hard = Date.now() + 5_000;
    while (Date.now() < hard && live.some((c) => c.exitCode === null && c.signalCode === null)) await sleep(50);
    process.stdout.write('stopped\n');
    resolveDone(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));

  const bin = binPath();
  for (const m of members) {
    const logFd = openSync(join(m.dir, 'zkts.log'), 'a');
    const child = spawn(process.execPath, [bin, 'server', m.configPath], {
      cwd: m.dir,
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    });
    closeSync(logFd);
    children.set(m.id, child);
    child.on('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`member ${m.id} exited (${signal ?? `code ${code}`}); see ${join(m.dir, 'zkts.log')}\n`);
    });
    child.on('error', (e) => process.stderr.write(`member ${m.id}: ${e.message}\n`));
  }

  const connect = members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  const rows = [['id', 'role', 'client port', 'pid', 'admin port', 'dir']];
  for (const m of members) {
    const pid = String(children.get(m.id)?.pid ?? '-');
    rows.push([String(m.id), m.role === 'observer' ? 'observer' : 'voter', String(m.clientPort), pid, String(m.adminPort), m.dir]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) process.stdout.write(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd() + '\n');
  process.stdout.write(`connect string: ${connect}\n`);

  // Wait (bounded) until every member answers srvr with a Mode other than looking.
  const deadline = Date.now() + o.startTimeoutS * 1000;
  let modes: (string | null)[] = [];
  while (!stopping) {
    modes = await Promise.all(members.map((m) => modeOf(m.clientPort)));
    if (modes.every((x) => x !== null && x !== 'looking')) break;
    if (Date.now() > deadline) {
      process.stderr.write(`zkts ensemble: not every member serves after ${o.startTimeoutS} s (modes: ${modes.map((x) => x ?? '-').join(',')})\n`);
      await stopAll('start timeout');
      return 1;
    }
    await sleep(200);
  }
  if (!stopping) {
    process.stdout.write(`ready: ${members.map((m, i) => `${m.id}=${modes[i]}`).join(' ')}\n`);
    process.stdout.write('Ctrl-C stops every member\n');
  }
  return done;
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
