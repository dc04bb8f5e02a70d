// Unit tests of src/main/ensemble/cli.ts's plan: member ports (client, quorum, election and the
// AdminServer's at +3, so members never share 8080), the files written, the base-port bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnsembleArgs, planMembers, writeMemberFiles } from '../../../src/main/ensemble/cli.js';

test('each member gets its own AdminServer port, written into its zoo.cfg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-cli-plan-'));
  try {
    const o = parseEnsembleArgs(['--voters', '3', '--observers', '1', '--base-port', '30000', '--dir', dir]);
    assert.notEqual(o, 'help');
    if (o === 'help') return;
    const members = planMembers(o);
    assert.deepEqual(
      members.map((m) => [m.clientPort, m.quorumPort, m.electionPort, m.adminPort]),
      [0, 1, 2, 3].map((i) => [30000 + 10 * i, 30001 + 10 * i, 30002 + 10 * i, 30003 + 10 * i]),
    );
    writeMemberFiles(o, members);
    for (const m of members) {
      const cfg = readFileSync(m.configPath, 'utf8');
      assert.match(cfg, new RegExp(`^admin.serverPort=${m.adminPort}$`, 'm'));
      assert.match(cfg, /^admin.serverAddress=127.0.0.1$/m);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a base port whose last member\'s admin port would pass 65535 is refused', () => {
  assert.throws(() => parseEnsembleArgs(['--voters', '3', '--base-port', '65513']), /too high/);
  assert.doesNotThrow(() => parseEnsembleArgs(['--voters', '3', '--base-port', '65512']));
});
