// Session passwords from precomputed HMAC states (src/workers/session/password.ts): the same
// bytes as node:crypto's HMAC-SHA256 for every kind of secret, and what handshake.ts builds on it.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { passwordMatches, sessionPassword } from '../../../src/workers/session/handshake.js';
import { PasswordHmac } from '../../../src/workers/session/password.js';

function reference(secret: string, hi: number, lo: number): Buffer {
  const id = Buffer.alloc(8);
  id.writeUInt32BE(hi >>> 0, 0);
  id.writeUInt32BE(lo >>> 0, 4);
  return createHmac('sha256', secret).update(id).digest();
}

describe('PasswordHmac', () => {
  const secrets = [
    '',
    's',
    'test-secret',
    'x'.repeat(63),
    'x'.repeat(64),
    'x'.repeat(65),
    `zkts-session-secret:v1:${'ab'.repeat(32)}`,
    'ünïcødé ✓ secret',
  ];
  const ids: Array<[number, number]> = [
    [0, 1],
    [0x01020304, 0x05060708],
    [0xffffffff, 0xffffffff],
    [0x80000000, 0],
    [0x0100abcd, 0x12345678],
  ];

  it('is HMAC-SHA256 of the id as 8 big-endian bytes, for short, block-sized and long secrets', () => {
    for (const secret of secrets) {
      const h = new PasswordHmac(secret);
      for (const [hi, lo] of ids) {
        const out = Buffer.alloc(32);
        h.write(hi, lo, out, 0, 32);
        assert.deepEqual(out, reference(secret, hi, lo), `${JSON.stringify(secret)} ${hi}/${lo}`);
      }
    }
  });

  it('writes a prefix at an offset, and many in a row stay right (no state left behind)', () => {
    const h = new PasswordHmac('test-secret');
    const out = Buffer.alloc(20);
    for (let k = 0; k < 200; k++) {
      const hi = (k * 0x9e3779b1) >>> 0;
      const lo = (k * 0x85ebca6b + 7) >>> 0;
      h.write(hi, lo, out, 4, 16);
      assert.deepEqual(out.subarray(4), reference('test-secret', hi, lo).subarray(0, 16));
    }
  });

  it('the same id twice (a reconnect checked, then answered), and back after another id', () => {
    const h = new PasswordHmac('test-secret');
    const out = Buffer.alloc(16);
    for (const [hi, lo] of [[1, 2], [1, 2], [1, 3], [1, 2], [2, 2]] as const) {
      h.write(hi, lo, out, 0, 16);
      assert.deepEqual(out, reference('test-secret', hi, lo).subarray(0, 16), `${hi}/${lo}`);
    }
  });

  it('handshake.ts: sessionPassword and passwordMatches agree with the reference, and a secret change', () => {
    for (const secret of ['a', 'b', 'a']) {
      const pw = sessionPassword(secret, 5, 6);
      assert.deepEqual(pw, reference(secret, 5, 6).subarray(0, 16));
      assert.ok(passwordMatches(secret, 5, 6, pw));
      assert.ok(!passwordMatches(secret, 5, 7, pw));
      assert.ok(!passwordMatches(`${secret}x`, 5, 6, pw));
      assert.ok(!passwordMatches(secret, 5, 6, pw.subarray(0, 15)));
    }
  });
});
