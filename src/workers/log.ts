// The worker's logger: pino, writing asynchronously straight to fd 1 from this thread (no
// transport thread per worker), quiet ('warn') unless asked. The hot path never logs; session
// open / close / expiry / upgrade are one info line each.

import pino from 'pino';

/** The part of pino's API the worker uses (a no-op or capturing logger in tests and benches). */
export interface WorkerLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  isLevelEnabled(level: string): boolean;
  flush(): void;
}

export function createWorkerLog(level: string, workerIndex: number): WorkerLog {
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = pino({ level, base: { worker: workerIndex } }, destination);
  return {
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
    isLevelEnabled: (l) => logger.isLevelEnabled(l),
    flush: () => {
      try {
        logger.flush();
        destination.flushSync();
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
