// Starts a ZooKeeper-compatible server as a child process for the interop suites.
//
// 'apache': Apache ZooKeeper 3.8 from the Debian package, run in the foreground with Java
//           (QuorumPeerMain, as zkServer.sh does, without the shell wrapper).
// 'zkts':   node <repo>/bin/zkts.js server <zoo.cfg>, with the same zoo.cfg.
//
// Both get the same zoo.cfg, written into a fresh temporary directory.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'zkts' | 'apache';

export interface StartOptions {
  port: number;
  /** defaults to <tmpdir>/data; an existing directory is reused (restart on the same data) */
  dataDir?: string;
  /** extra zoo.cfg keys; they override the defaults written by the harness */
  extra?: Record<string, string>;
  /** zoo.cfg keys the harness writes by default that are left out (say '4lw.commands.whitelist',
   *  to run with the server's own default) */
  without?: readonly string[];
  tickTime?: number;
  minSessionTimeout?: number;
  maxSessionTimeout?: number;
  /** zoo.cfg maxClientCnxns, default 60 */
  maxClientCnxns?: number;
  /** how long to wait for the server to serve, default 30 s */
  startTimeoutMs?: number;
  /** zkts only: the node binary to run it with (default: the one running the tests) */
  nodeBinary?: string;
  /** apache only: 'test' (default) starts fast; 'bench' runs the JVM as in production */
  jvmProfile?: 'test' | 'bench';
  /** Ready when this resolves true, instead of ruok/srvr on `port` (a server with no plain
   *  client port: secureClientPort alone) */
  readyCheck?: () => Promise<boolean>;
}

export interface ServerHandle {
  readonly kind: ServerKind;
  readonly pid: number;
  readonly port: number;
  /** "127.0.0.1:<port>" */
  readonly connectString: string;
  readonly dataDir: string;
  /** the zoo.cfg the server was started with */
  readonly configPath: string;
  /** the zoo.cfg entries, in the order written */
  readonly config: ReadonlyArray<readonly [string, string]>;
  /** true once the process has exited */
  readonly exited: boolean;
  /** SIGTERM, then SIGKILL after graceMs (default 5000); resolves when the process has exited */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves when the process has exited */
  kill(): Promise<void>;
  /** everything the process wrote on stdout and stderr (the last 4 MiB) */
  logs(): string;
}

/** Keys that Apache ZooKeeper reads as Java system properties, not from zoo.cfg. */
const APACHE_SYSTEM_PROPERTIES = new Set([
  'jute.maxbuffer',
  'znode.container.checkIntervalMs',
  'znode.container.maxPerMinute',
  'znode.container.maxNeverUsedIntervalMs',
  'zookeeper.extendedTypesEnabled',
  'zookeeper.emulate353TTLNodes',
  'zookeeper.snapCount',
  'zookeeper.commitLogCount',
  'zookeeper.digest.enabled',
  'readonlymode.enabled',
]);

const LOG_LIMIT = 4 * 1024 * 1024;
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';
const RUOK_NOT_WHITELISTED = 'ruok is not executed because it is not in the whitelist.\n';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies must not leave servers behind holding ports: on exit, and on the
  // SIGTERM/SIGINT the test runner sends to a file it cancels.
  const killAll = (): void => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killAll);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    });
  }
}

/** The repository root: the nearest ancestor of this file with a package.json named zkts. */
export function repoRoot(): string {
  const env = process.env['ZKTS_REPO_ROOT'];
  if (env !== undefined && env !== '') return env;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        const name = (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: unknown }).name;
        if (name === 'zkts') return dir;
      } catch {
        // keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the zkts repository root (set ZKTS_REPO_ROOT)');
    dir = up;
  }
}

/** JVM flags: quick start-up for tests (C1 only, serial GC, small heap), or the JVM's own
 *  defaults (tiered compilation, G1) with a 2 GiB heap for benchmarks, as one would run it. */
function jvmFlags(profile: 'test' | 'bench'): string[] {
  if (profile === 'bench') return ['-Xms512m', '-Xmx2g'];
  return ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
}

function apacheCommand(configPath: string, sysprops: string[], profile: 'test' | 'bench'): { cmd: string; args: string[] } {
  const java = process.env['ZKTS_APACHE_JAVA'] ?? '/usr/bin/java';
  const classpath =
    process.env['ZKTS_APACHE_CLASSPATH'] ??
    ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'].join(':');
  return {
    cmd: java,
    args: [
      ...jvmFlags(profile),
      '-Dzookeeper.jmx.log4j.disable=true',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
      ...sysprops,
      '-cp',
      classpath,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      configPath,
    ],
  };
}

function zktsCommand(configPath: string, nodeBinary = process.execPath): { cmd: string; args: string[] } {
  return { cmd: nodeBinary, args: [path.join(repoRoot(), 'bin', 'zkts.js'), 'server', configPath] };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves true if something accepts connections on the port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Sends a four-letter word and returns everything the server writes before it closes the
 * connection.
 */
export function fourLetter(port: number, word: string, timeoutMs = 5000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`four-letter word '${word}' on port ${port}: no close within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => s.write(word));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.once('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** Waits until nothing accepts connections on the port any more (a child of the process may hold it). */
async function waitPortFree(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await portInUse(port))) await sleep(25);
}

function writeConfig(entries: Array<[string, string]>, file: string): void {
  fs.writeFileSync(file, entries.map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
}

export async function startServer(kind: ServerKind, opts: StartOptions): Promise<ServerHandle> {
  installExitHook();
  const { port } = opts;
  if (await portInUse(port)) {
    throw new Error(`port ${port} is already in use: a server left over from an earlier run? (ss -ltnp | grep ${port})`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zkts-it-${kind}-${port}-`));
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });

  const cfg = new Map<string, string>();
  cfg.set('tickTime', String(opts.tickTime ?? 2000));
  cfg.set('initLimit', '10');
  cfg.set('syncLimit', '5');
  cfg.set('dataDir', dataDir);
  cfg.set('clientPort', String(port));
  cfg.set('clientPortAddress', '127.0.0.1');
  cfg.set('maxClientCnxns', String(opts.maxClientCnxns ?? 60));
  cfg.set('admin.enableServer', 'false');
  cfg.set('4lw.commands.whitelist', '*');
  cfg.set('extendedTypesEnabled', 'true');
  if (opts.minSessionTimeout !== undefined) cfg.set('minSessionTimeout', String(opts.minSessionTimeout));
  if (opts.maxSessionTimeout !== undefined) cfg.set('maxSessionTimeout', String(opts.maxSessionTimeout));
  for (const [k, v] of Object.entries(opts.extra ?? {})) cfg.set(k, v);
  for (const k of opts.without ?? []) cfg.delete(k);

  const sysprops: string[] = [];
  if (kind === 'apache') {
    for (const [k, v] of cfg) {
      if (APACHE_SYSTEM_PROPERTIES.has(k)) sysprops.push(`-D${k}=${v}`);
    }
    // Apache only has local sessions in an ensemble (standalone ignores localSessionsEnabled):
    // run it as a one-member ensemble, which elects itself leader within a few ticks.
    if (cfg.get('localSessionsEnabled') === 'true' && !cfg.has('standaloneEnabled')) {
      cfg.set('standaloneEnabled', 'false');
      cfg.set('server.1', `127.0.0.1:${port + 1}:${port + 2}`);
      fs.writeFileSync(path.join(dataDir, 'myid'), '1\n');
    }
  }
  const configPath = path.join(dir, 'zoo.cfg');
  const entries = [...cfg.entries()];
  writeConfig(entries, configPath);

  const { cmd, args } = kind === 'apache' ? apacheCommand(configPath, sysprops, opts.jvmProfile ?? 'test') : zktsCommand(configPath, opts.nodeBinary);
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  live.add(child);
  let log = '';
  const append = (d: Buffer): void => {
    log += d.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited = false;
  let exitDescription = '';
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitDescription = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (e) => {
      exited = true;
      exitDescription = `spawn error ${e.message}`;
      live.delete(child);
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exitPromise;
    throw new Error(`cannot start ${cmd}: ${exitDescription}`);
  }

  const keepDirs = process.env['ZKTS_TEST_KEEP_DIRS'] === '1';
  const cleanup = (): void => {
    if (!keepDirs) fs.rmSync(dir, { recursive: true, force: true });
  };
  const waitExit = async (ms: number): Promise<boolean> => {
    if (exited) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exitPromise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return exited;
  };
  const handle: ServerHandle = {
    kind,
    pid,
    port,
    connectString: `127.0.0.1:${port}`,
    dataDir,
    configPath,
    config: entries,
    get exited() {
      return exited;
    },
    async stop(graceMs = 5000) {
      if (process.env['ZKTS_TEST_SERVER_LOGS'] === '1') {
        process.stderr.write(`----- ${kind} server on port ${port} -----\n${log}\n----- end -----\n`);
      }
      if (!exited) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
        if (!(await waitExit(graceMs))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
          await exitPromise;
        }
      }
      await waitPortFree(port, 5000);
      cleanup();
    },
    async kill() {
      if (!exited) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
        await exitPromise;
      }
      await waitPortFree(port, 5000);
    },
    logs() {
      return log;
    },
  };

  // Ready = the port answers ruok with imok (or refuses it: a whitelist without ruok) AND srvr,
  // which every whitelist has, does not say "not currently serving" (Apache answers imok while
  // an ensemble member is still electing a leader).
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30000);
  let last = '';
  for (;;) {
    if (exited) {
      cleanup();
      throw new Error(`${kind} server exited (${exitDescription}) before serving on port ${port}; output:\n${log}`);
    }
    if (Date.now() > deadline) {
      await handle.stop(1000);
      throw new Error(`${kind} server not serving on port ${port} after ${opts.startTimeoutMs ?? 30000} ms (last: ${JSON.stringify(last)}); output:\n${log}`);
    }
    if (opts.readyCheck !== undefined) {
      if (await opts.readyCheck().catch(() => false)) return handle;
      await sleep(50);
      continue;
    }
    try {
      last = await fourLetter(port, 'ruok', 1000);
      if (last === 'imok' || last === RUOK_NOT_WHITELISTED) {
        last = await fourLetter(port, 'srvr', 1000);
        if (!last.startsWith(NOT_SERVING)) return handle;
      }
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(50);
  }
}
