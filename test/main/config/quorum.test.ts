// zoo.cfg's quorum secret keys (config.ts quorumSecret): quorum.secret inline, quorum.secretFile
// read and trimmed at start, not both, at least quorumSecretCharsMin characters; none means an
// unauthenticated quorum.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, quorumSecretCharsMin } from '../../../src/main/config.js';

function cfgFile(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-qcfg-'));
  const p = join(dir, 'zoo.cfg');
  writeFileSync(p, lines.join('\n'));
  return p;
}

test('quorum.secret, quorum.secretFile, neither', () => {
  assert.equal(loadConfig(cfgFile(['quorum.secret=a-quorum-secret-of-24ch'])).quorumSecret, 'a-quorum-secret-of-24ch');
  const dir = mkdtempSync(join(tmpdir(), 'zkts-qsecret-'));
  writeFileSync(join(dir, 'secret'), '  from-a-file-0123456789\n');
  const c = loadConfig(cfgFile([`quorum.secretFile=${join(dir, 'secret')}`]));
  assert.equal(c.quorumSecret, 'from-a-file-0123456789');
  assert.ok(!c.ignoredKeys.includes('quorum.secretFile'));
  assert.equal(loadConfig(cfgFile(['tickTime=2000'])).quorumSecret, null);
});

test('a quorum secret that is short, unreadable or set twice stops start-up', () => {
  const problem = (lines: string[]): string => {
    try {
      loadConfig(cfgFile(lines));
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return assert.fail('expected a ConfigError');
  };
  assert.match(problem([`quorum.secret=${'x'.repeat(quorumSecretCharsMin - 1)}`]), /at least 16 characters/);
  assert.match(problem(['quorum.secretFile=/nonexistent/zkts-secret']), /quorum.secretFile=\/nonexistent\/zkts-secret/);
  assert.match(problem(['quorum.secret=a-quorum-secret-of-24ch', 'quorum.secretFile=/x']), /set one of them/);
});
