// The worker's logger: pino, writing straight to fd 1 from this thread (no transport thread per
// worker; synchronously at warn and above, where lines are rare), quiet ('warn') unless asked.
// The hot path never logs; session open / close / expiry / upgrade are one info line each. pino
// is loaded (a synchronous require: it is CommonJS) at the first line the level lets through: at
// warn, most workers never log, and its modules cost each worker isolate ~1 MB (bench:idle-rss
// A/B; 1.7 MB in a bare worker).

import { createRequire } from 'node:module';
import type pinoModule from 'pino';

const require = createRequire(import.meta.url);

/** pino's numeric levels (pino.levels.values), for the checks made before pino is loaded. */
const levelValues: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** The part of pino's API the worker uses (a no-op or capturing logger in tests and benches). */
export interface WorkerLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  isLevelEnabled(level: string): boolean;
  flush(): void;
}

type SyncFlushable = pinoModule.DestinationStream & { flushSync(): void };

export function createWorkerLog(level: string, workerIndex: number): WorkerLog {
  const threshold = levelValues[level];
  if (threshold === undefined) throw new Error(`session worker: unknown log level ${level}`);
  let loaded: { logger: pinoModule.Logger; destination: SyncFlushable } | null = null;
  const logger = (): pinoModule.Logger => {
    if (loaded === null) {
      const pino = require('pino') as typeof pinoModule;
      // At warn and above lines are rare: each is written synchronously, so none is still in
      // flight when a later one (or the exit's flushSync) is written, which could overtake it.
      // At info and below (a line per session) writes stay asynchronous, off the I/O path.
      const destination = pino.destination({ dest: 1, sync: threshold >= levelValues['warn']! });
      loaded = { logger: pino({ level, base: { worker: workerIndex } }, destination), destination };
    }
    return loaded.logger;
  };
  const enabled = (l: string): boolean => (levelValues[l] ?? Number.POSITIVE_INFINITY) >= threshold;
  return {
    debug: (obj, msg) => {
      if (enabled('debug')) logger().debug(obj, msg);
    },
    info: (obj, msg) => {
      if (enabled('info')) logger().info(obj, msg);
    },
    warn: (obj, msg) => {
      if (enabled('warn')) logger().warn(obj, msg);
    },
    error: (obj, msg) => {
      if (enabled('error')) logger().error(obj, msg);
    },
    isLevelEnabled: enabled,
    flush: () => {
      if (loaded === null) return; // nothing was ever written
      try {
        loaded.logger.flush();
        loaded.destination.flushSync();
      } catch {
        // Not open yet (nothing was ever written) or already closed: nothing to flush.
      }
    },
  };
}

function noop(): void {}

/** A logger that drops everything. */
export const silentLog: WorkerLog = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
  flush: noop,
};
