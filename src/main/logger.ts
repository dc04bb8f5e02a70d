// pino, structured and quiet by default (level from config, `warn` unless asked). At levels that
// log per session or per request (info and below), the main thread writes through a pino
// transport, so formatting and I/O stay off the thread that runs the pipeline. At warn and above
// (the default) lines are rare, and a transport thread (a JS isolate, ~5 MB RSS held for the
// process's life) costs more than it saves: the main thread then writes each line to fd 1
// synchronously (a few µs for a rare line; an asynchronous write could still be in flight when a
// fatal error calls process.exit, and be lost or overtaken by a later line). At warn and above
// pino itself is loaded (a synchronous require: it is CommonJS) only at the first line written:
// a quiet server may never write one, and pino's modules cost the isolate ~1 MB (issue 11, goal 2;
// src/workers/log.ts does the same for each session worker).

import { createRequire } from 'node:module';
import type pinoModule from 'pino';
import type { Logger } from 'pino';

export type { Logger };

const require = createRequire(import.meta.url);
const loadPino = (): typeof pinoModule => require('pino') as typeof pinoModule;

/** Levels that log per session or per request: written through a transport thread. */
const chattyLevels: readonly string[] = ['info', 'debug', 'trace'];

export function createLogger(level: string, name: string): Logger {
  if (level === 'silent') return loadPino()({ level, name });
  const options = { level, name, base: { pid: process.pid } };
  if (chattyLevels.includes(level)) {
    const pino = loadPino();
    return pino(options, pino.transport({ target: 'pino/file', options: { destination: 1 } }));
  }
  let loaded: Logger | null = null;
  const real = (): Logger => {
    if (loaded === null) {
      const pino = loadPino();
      loaded = pino(options, pino.destination({ dest: 1, sync: true }));
    }
    return loaded;
  };
  const quiet = (): void => {};
  // The part of pino's Logger that zkts's main thread uses, with the same behaviour: debug and
  // info are below every quiet level; anything else loads pino and asks it.
  const lazy = {
    level,
    trace: quiet,
    debug: quiet,
    info: quiet,
    warn: (...args: unknown[]): void => (real().warn as (...a: unknown[]) => void)(...args),
    error: (...args: unknown[]): void => (real().error as (...a: unknown[]) => void)(...args),
    fatal: (...args: unknown[]): void => (real().fatal as (...a: unknown[]) => void)(...args),
    isLevelEnabled: (l: string): boolean => real().isLevelEnabled(l),
    child: (...args: unknown[]): unknown => (real().child as (...a: unknown[]) => unknown)(...args),
    flush: (cb?: (err?: Error) => void): void => {
      if (loaded === null) cb?.();
      else loaded.flush(cb);
    },
  };
  return lazy as unknown as Logger;
}
