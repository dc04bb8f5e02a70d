// pino, structured and quiet by default (level from config, `warn` unless asked). At levels that
// log per session or per request (info and below), the main thread writes through a pino
// transport, so formatting and I/O stay off the thread that runs the pipeline. At warn and above
// (the default) lines are rare, and a transport thread (a JS isolate, ~5 MB RSS held for the
// process's life) costs more than it saves: the main thread then writes each line to fd 1
// synchronously (a few µs for a rare line; an asynchronous write could still be in flight when a
// fatal error calls process.exit, and be lost or overtaken by a later line).

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  if (level === 'silent') return pino({ level, name });
  const options = { level, name, base: { pid: process.pid } };
  const chatty = (pino.levels.values[level] ?? 0) <= (pino.levels.values['info'] ?? 30);
  if (!chatty) return pino(options, pino.destination({ dest: 1, sync: true }));
  return pino(options, pino.transport({ target: 'pino/file', options: { destination: 1 } }));
}
