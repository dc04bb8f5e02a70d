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

export function inheritedListenFds(): number[] | null {
  const v = process.env['ZKTS_LISTEN_FDS'];
  if (v === undefined || v === '') return null;
  return v.split(',').map(Number);
}

interface HandleWithFd {
  fd?: number;
}

/** Bind the client port, start the server process with the socket as fds 3.., and mirror it. */
export async function launch(cfg: ServerConfig, argv: string[]): Promise<never> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The workers listen on duplicates of this socket with the same backlog (listener.ts): a
    // listen() on a listening socket sets its backlog again, and Node passes 511 when none is given.
    server.listen({ host: cfg.clientPortAddress, port: cfg.clientPort, backlog: cfg.clientPortListenBacklog }, resolve);
  });
  const fd = (server as unknown as { _handle?: HandleWithFd })._handle?.fd;
  if (fd === undefined || fd < 0) throw new Error('cannot read the listening socket descriptor');
  const fds = Array.from({ length: cfg.sessionWorkers }, (_, i) => 3 + i);
  const child = spawn(process.execPath, [...process.execArgv, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', ...fds.map(() => fd), 'ipc'],
    env: { ...process.env, ZKTS_LISTEN_FDS: fds.join(',') },
  });
  server.close(); // the child holds its duplicates; this process never accepts
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
