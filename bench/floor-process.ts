// The plain-Node floor server (src/load/floor-server.ts) in a child process, for the benchmarks
// that measure zkts against it: it accepts, parses frames and answers ConnectRequest, ping and
// closeSession, nothing else. One copy of the start/stop dance for every such bench.

import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How long the floor may take to say it listens. */
const FLOOR_START_TIMEOUT_MS = 15_000;
/** After SIGTERM, how long before SIGKILL. */
const FLOOR_STOP_GRACE_MS = 10_000;

export interface FloorProcess {
  pid: number;
  port: number;
  connectString: string;
  stop(): Promise<void>;
}

/** Starts the floor on 127.0.0.1:`port` (`nodeArgs` before the script, e.g. --cpu-prof); resolves
 *  once it listens. It is SIGKILLed if this process exits first. */
export async function startFloorProcess(port: number, nodeArgs: readonly string[] = []): Promise<FloorProcess> {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'load', 'floor-server.js');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, entry, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  const listening = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), FLOOR_START_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('floor listening')) {
        clearTimeout(t);
        resolve(true);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.once('exit', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  if (!listening || child.pid === undefined) {
    kill();
    throw new Error(`the floor server did not listen on ${port}: ${out}`);
  }
  return {
    pid: child.pid,
    port,
    connectString: `127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(kill, FLOOR_STOP_GRACE_MS);
      await exited;
      clearTimeout(t);
      process.removeListener('exit', kill);
    },
  };
}
