// Getting each session worker its own listening socket.
//
// Node ≥ 22.12 (and ≥ 23.1) has `reusePort`: every worker binds its own SO_REUSEPORT socket and
// the kernel spreads connections between them. Node 20 has not, and sharing one descriptor among
// threads is unsafe (the creating thread accepts too, and a worker that exits closes the fd for
// all of them). So on Node 20 a small launcher process binds the port, and starts the real server
// with the listening socket duplicated into fds 3, 4, ... (one per worker) through spawn's stdio,
// then closes its own copy and only forwards signals and the exit code. The server learns its fds
// from ZKTS_LISTEN_FDS. If the launcher dies (even by SIGKILL) the server's IPC channel
// disconnects and the server kills itself, so a test that SIGKILLs the launcher kills the server.
// With one session worker there is nothing to share: that worker binds the port itself (cli.ts)
// and no launcher runs.

import net from 'node:net';
import { spawn } from 'node:child_process';
import type { ServerConfig } from './config.js';

export function hasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 23 || (major === 22 && minor >= 12);
}

/** The listening sockets a launcher passed: the plain client port's fds and secureClientPort's. */
export interface InheritedFds {
  fds: number[];
  secureFds: number[];
}

export function inheritedListenFds(): InheritedFds | null {
  const list = (v: string | undefined): number[] => (v === undefined || v === '' ? [] : v.split(',').map(Number));
  const fds = list(process.env['ZKTS_LISTEN_FDS']);
  const secureFds = list(process.env['ZKTS_SECURE_LISTEN_FDS']);
  if (fds.length === 0 && secureFds.length === 0) return null;
  return { fds, secureFds };
}

interface HandleWithFd {
  fd?: number;
}

async function bindFd(cfg: ServerConfig, host: string, port: number): Promise<{ server: net.Server; fd: number }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The workers listen on duplicates of this socket with the same backlog (listener.ts): a
    // listen() on a listening socket sets its backlog again, and Node passes 511 when none is given.
    server.listen({ host, port, backlog: cfg.clientPortListenBacklog }, resolve);
  });
  const fd = (server as unknown as { _handle?: HandleWithFd })._handle?.fd;
  if (fd === undefined || fd < 0) throw new Error('cannot read the listening socket descriptor');
  return { server, fd };
}

/** Bind the client port(s), start the server process with the sockets as fds 3.., and mirror it:
 *  the plain port's N duplicates first, then secureClientPort's N. */
export async function launch(cfg: ServerConfig, argv: string[]): Promise<never> {
  const plain = cfg.clientPortEnabled ? await bindFd(cfg, cfg.clientPortAddress, cfg.clientPort) : null;
  const secure = cfg.secureClientPort === null ? null : await bindFd(cfg, cfg.secureClientPortAddress, cfg.secureClientPort);
  const n = cfg.sessionWorkers;
  const fds = plain === null ? [] : Array.from({ length: n }, (_, i) => 3 + i);
  const secureFds = secure === null ? [] : Array.from({ length: n }, (_, i) => 3 + fds.length + i);
  const stdio = [...fds.map(() => plain!.fd), ...secureFds.map(() => secure!.fd)];
  const child = spawn(process.execPath, [...process.execArgv, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', ...stdio, 'ipc'],
    env: { ...process.env, ZKTS_LISTEN_FDS: fds.join(','), ZKTS_SECURE_LISTEN_FDS: secureFds.join(',') },
  });
  // The child holds its duplicates; this process never accepts.
  plain?.server.close();
  secure?.server.close();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  return new Promise<never>(() => {
    child.on('exit', (code, signal) => {
      process.exit(code ?? (signal === 'SIGKILL' ? 137 : 1));
    });
  });
}

/** In the server process started by launch(): die with the launcher. */
export function exitWithLauncher(): void {
  if (process.send === undefined) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  // The IPC channel must not keep the process alive on its own.
  process.channel?.unref();
}
