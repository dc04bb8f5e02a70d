// The TLS contract between the threads (src/shm/tls.ts): key options from a key store.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTlsCounters, TlsCounter, tlsKeyOptions } from '../../src/shm/tls.js';

test('a PEM key store gives key and cert (one file), a PKCS12 one pfx; the trust store gives ca', () => {
  const pem = Buffer.from('pem');
  const ca = Buffer.from('ca');
  assert.deepEqual(tlsKeyOptions({ type: 'PEM', data: pem, password: null }, ca), { key: pem, cert: pem, ca });
  const p12 = Buffer.from([0x30]);
  assert.deepEqual(tlsKeyOptions({ type: 'PKCS12', data: p12, password: 'pw' }, null), { pfx: p12, passphrase: 'pw' });
});

test('the counters: one Int32 cell each', () => {
  const cells = new Int32Array(createTlsCounters());
  assert.equal(cells.length, TlsCounter.cells);
  assert.ok(TlsCounter.unsuccessfulHandshakes < TlsCounter.cells && TlsCounter.handshakeTimeouts < TlsCounter.cells && TlsCounter.handshakes < TlsCounter.cells);
});
