// src/main/logger.ts: at warn and above (the default) the main thread's logger starts no thread
// and its lines reach fd 1 in order, a fatal line just before process.exit included; at info and
// below it writes through a pino transport thread. Each case runs in a child process (threads
// counted in /proc/self/status, stdout read whole).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const loggerUrl = new URL('../../src/main/logger.js', import.meta.url).href;

function runChild(level: string): { threadsAdded: number; stdout: string; stderr: string; status: number | null } {
  const code = `
    import { createLogger } from ${JSON.stringify(loggerUrl)};
    import { readFileSync } from 'node:fs';
    import { stat } from 'node:fs/promises';
    const threads = () => Number(/^Threads:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
    await stat('.'); // libuv's thread pool is up before counting
    const before = threads();
    const log = createLogger(${JSON.stringify(level)}, 'logger-test');
    process.stderr.write('threads+' + (threads() - before) + '\\n');
    log.debug({ n: 0 }, 'dropped');
    log.info({ n: 0 }, 'dropped');
    log.warn({ n: 1 }, 'a warning');
    log.fatal({ n: 2 }, 'the last line');
    process.exit(3);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    timeout: 60_000,
  });
  const added = /threads\+(-?\d+)/.exec(r.stderr)?.[1];
  assert.ok(added !== undefined, `child printed its thread count: ${r.stderr}`);
  return { threadsAdded: Number(added), stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test('warn (the default): no logger thread, and every line reaches fd 1 before exit', () => {
  const r = runChild('warn');
  assert.equal(r.status, 3);
  assert.equal(r.threadsAdded, 0, 'no transport thread at warn');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; name: string });
  assert.deepEqual(lines.map((l) => l.msg), ['a warning', 'the last line']);
  assert.deepEqual(lines.map((l) => l.level), [40, 60]);
  assert.equal(lines[0]!.name, 'logger-test');
});

test('info: formatting and I/O on a pino transport thread', () => {
  const r = runChild('info');
  assert.equal(r.status, 3);
  assert.ok(r.threadsAdded >= 1, `a transport thread at info (threads added: ${r.threadsAdded})`);
});

test('warn: pino is loaded at the first line written, not before (issue 11, goal 2)', () => {
  const code = `
    import { createLogger } from ${JSON.stringify(loggerUrl)};
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const pinoLoaded = () => Object.keys(cache).some((k) => /[\\\\/]node_modules[\\\\/]pino[\\\\/]/.test(k));
    const log = createLogger('warn', 'logger-test');
    log.debug({ n: 0 }, 'dropped');
    log.info({ n: 0 }, 'dropped');
    const before = pinoLoaded();
    log.warn({ n: 1 }, 'a warning');
    process.stderr.write('loaded ' + before + ' ' + pinoLoaded() + '\\n');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /loaded false true/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; name: string; pid: number });
  assert.deepEqual(lines.map((l) => [l.msg, l.level, l.name, l.pid > 0]), [['a warning', 40, 'logger-test', true]]);
});
