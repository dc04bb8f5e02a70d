// pino, structured and quiet by default (level from config, `warn` unless asked). The main
// thread writes through a pino transport, so formatting and I/O stay off the thread that runs
// the pipeline.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  if (level === 'silent') return pino({ level, name });
  return pino(
    { level, name, base: { pid: process.pid } },
    pino.transport({ target: 'pino/file', options: { destination: 1 } }),
  );
}
