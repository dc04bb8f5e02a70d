// `zkts load` option parsing (src/load/cli.ts), no server needed: source address ranges, usage and
// exit codes. cli/apache.test.ts runs it against Apache ZooKeeper, scenarios.test.ts against zkts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSourceAddrs, runLoad, SCENARIOS } from '../../src/load/cli.js';

test('source address ranges', () => {
  const a = parseSourceAddrs('127.0.0.2-127.0.0.254');
  assert.equal(a.length, 253);
  assert.equal(a[0], '127.0.0.2');
  assert.equal(a[252], '127.0.0.254');
  assert.deepEqual(parseSourceAddrs('127.0.0.5,127.0.0.9-10'), ['127.0.0.5', '127.0.0.9', '127.0.0.10']);
  assert.throws(() => parseSourceAddrs('localhost'));
});

test('usage: --help per scenario, unknown scenario and bad options exit 2', async () => {
  let out = '';
  let err = '';
  const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
  assert.equal((await runLoad(['--help'], io)).code, 0);
  for (const name of SCENARIOS.keys()) assert.match(out, new RegExp(`\\b${name}\\b`));
  for (const name of SCENARIOS.keys()) {
    out = '';
    assert.equal((await runLoad([name, '--help'], io)).code, 0);
    assert.match(out, new RegExp(`usage: zkts load ${name}`));
    assert.match(out, /--connect/);
  }
  assert.equal((await runLoad(['nope'], io)).code, 2);
  assert.equal((await runLoad(['connect', '--sessions', 'x'], io)).code, 2);
  assert.equal((await runLoad(['connect', '--bogus'], io)).code, 2);
  assert.equal((await runLoad(['read', '--depth', '0'], io)).code, 2);
  assert.equal((await runLoad([], io)).code, 2);
  assert.match(err, /unknown scenario 'nope'/);
  err = '';
  assert.equal((await runLoad(['read', '--client', 'lean'], io)).code, 2);
  assert.match(err, /the read scenario needs the full client/);
  assert.equal((await runLoad(['watch', '--lean', '--client', 'full'], io)).code, 2);
  assert.match(err, /--lean and --client full: choose one/);
});
