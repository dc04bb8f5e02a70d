// src/workers/log.ts: a session worker's logger loads pino only at the first line its level lets
// through (at warn, the default, most workers never do); lines below the level are dropped, the
// ones at or above it reach fd 1 as pino writes them. Runs in a child process: stdout whole, and
// the CommonJS module cache starts without pino.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const logUrl = new URL('../../src/workers/log.js', import.meta.url).href;

test('warn: pino is loaded at the first warning, not before; lines below warn are dropped', () => {
  const code = `
    import { createRequire } from 'node:module';
    import { createWorkerLog } from ${JSON.stringify(logUrl)};
    const require = createRequire(${JSON.stringify(logUrl)});
    const pinoLoaded = () => require.resolve('pino') in require.cache;
    const log = createWorkerLog('warn', 3);
    log.debug({ n: 0 }, 'dropped');
    log.info({ n: 0 }, 'dropped');
    process.stderr.write('before:' + pinoLoaded() + ' info:' + log.isLevelEnabled('info') + ' warn:' + log.isLevelEnabled('warn') + '\\n');
    log.flush(); // nothing written yet: a no-op
    log.warn({ n: 1 }, 'a warning');
    log.error({ n: 2 }, 'an error');
    process.stderr.write('after:' + pinoLoaded() + '\\n');
    log.flush();
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /before:false info:false warn:true\n/);
  assert.match(r.stderr, /after:true\n/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; worker: number; n: number });
  assert.deepEqual(lines.map((l) => [l.msg, l.level, l.worker, l.n]), [
    ['a warning', 40, 3, 1],
    ['an error', 50, 3, 2],
  ]);
});

test('an unknown level is refused', async () => {
  const { createWorkerLog } = await import('../../src/workers/log.js');
  assert.throws(() => createWorkerLog('loud', 0), /unknown log level loud/);
});
