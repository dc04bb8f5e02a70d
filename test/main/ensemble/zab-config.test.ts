// Unit tests of src/main/ensemble/zab-config.ts: zoo.cfg's tickTime is split into Zab ticks of
// at most zabTickMsMax, every limit scaled to match, and the member's voters, observers and
// observer masters come from the server lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ServerConfig } from '../../../src/main/config.js';
import { zabConfigOf, zabTicksPerTickTime } from '../../../src/main/ensemble/zab-config.js';

function config(lines: string[]): ServerConfig {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-zabcfg-'));
  const p = join(dir, 'zoo.cfg');
  writeFileSync(p, [`dataDir=${dir}`, ...lines].join('\n'));
  return loadConfig(p);
}

const servers = ['server.1=127.0.0.1:3001:4001', 'server.2=127.0.0.1:3002:4002', 'server.3=127.0.0.1:3003:4003:observer'];

test('Zab ticks per tickTime: at most 100 ms each, at least one per tickTime', () => {
  assert.equal(zabTicksPerTickTime(2000), 20);
  assert.equal(zabTicksPerTickTime(100), 1);
  assert.equal(zabTicksPerTickTime(30), 1);
  assert.equal(zabTicksPerTickTime(250), 3); // rounded: ticks of ~83 ms
});

test('tickTime=2000: limits in 100 ms Zab ticks; elections every 400 ms, finalizeWait 200 ms', () => {
  const c = zabConfigOf(config(['tickTime=2000', 'initLimit=10', 'syncLimit=5', ...servers]), 2);
  assert.equal(c.id, 2);
  assert.deepEqual(c.voters, [1, 2]);
  assert.deepEqual(c.observers, [3]);
  assert.equal(c.initLimitTicks, 200);
  assert.equal(c.syncLimitTicks, 100);
  assert.equal(c.electionTimeoutTicks, 4);
  assert.equal(c.finalizeWaitTicks, 2);
  assert.equal(c.observerMasters?.size, 0);
});

test('a short tickTime keeps the floors: two ticks for init/sync, one for election and finalizeWait', () => {
  const c = zabConfigOf(config(['tickTime=1000', 'initLimit=1', 'syncLimit=1', ...servers]), 1);
  assert.equal(c.initLimitTicks, 10);
  const fast = zabConfigOf(config(['tickTime=10', 'initLimit=1', 'syncLimit=1', ...servers]), 1);
  assert.equal(fast.initLimitTicks, 2);
  assert.equal(fast.syncLimitTicks, 2);
  assert.equal(fast.electionTimeoutTicks, 40);
  assert.equal(fast.finalizeWaitTicks, 20);
  const slow = zabConfigOf(config(['tickTime=500', 'initLimit=1', 'syncLimit=1', ...servers]), 1);
  assert.equal(slow.electionTimeoutTicks, 4);
  assert.equal(slow.finalizeWaitTicks, 2);
});

test('observer masters come from observerMasterPort', () => {
  const c = zabConfigOf(config(['observerMasterPort=2191', ...servers]), 3);
  assert.deepEqual([...(c.observerMasters ?? [])], [[3, 1]]);
});

test('a myid without a server line is refused', () => {
  assert.throws(() => zabConfigOf(config(servers), 9), /myid 9 has no server\.9 line/);
});
