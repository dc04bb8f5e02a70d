// The worker's TLS port (src/workers/tls.ts) on real sockets: handshakes, the certificate checks
// of ssl.clientAuth, the x509 identity, the counters and the reload.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { createTlsCounters, TlsCounter, type ClientTlsInit } from '../../src/shm/tls.js';
import { rfc2253, TlsPort, type X509Identity } from '../../src/workers/tls.js';
import type { WorkerLog } from '../../src/workers/log.js';
import { makeTestCerts, STORE_PASSWORD, type TestCerts } from '../integration/harness/certs.js';

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs?.remove());

const lines: string[] = [];
const log: WorkerLog = {
  debug: () => {},
  info: () => {},
  warn: (_o, msg) => void lines.push(msg),
  error: (_o, msg) => void lines.push(msg),
  isLevelEnabled: () => true,
  flush: () => {},
};

interface Harness {
  port: number;
  counters: Int32Array;
  secured: Array<X509Identity | null>;
  tlsPort: TlsPort;
  close(): Promise<void>;
}

async function harness(clientAuth: ClientTlsInit['clientAuth'], handshakeTimeoutMs = 10_000): Promise<Harness> {
  const counters = new Int32Array(createTlsCounters());
  const secured: Array<X509Identity | null> = [];
  const init: ClientTlsInit = {
    keys: { pfx: fs.readFileSync(certs.serverP12), passphrase: STORE_PASSWORD, ca: fs.readFileSync(certs.caPem) },
    clientAuth,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: null,
    x509SuperUser: certs.otherDn,
  };
  const tlsPort = new TlsPort({
    init,
    counters,
    log,
    handshakeTimeoutMs,
    onSecure: (socket, identity) => {
      secured.push(identity);
      socket.end('ok');
    },
  });
  const server = net.createServer((raw) => tlsPort.handle(raw));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, counters, secured, tlsPort, close: () => new Promise((r) => server.close(() => r())) };
}

/** Connects; resolves with what the server wrote before closing ('' when it closed at once). */
function dial(port: number, who: 'client' | 'other' | 'expired' | 'untrusted' | null): Promise<string> {
  const o: tls.ConnectionOptions = { host: '127.0.0.1', port, ca: fs.readFileSync(certs.caPem) };
  if (who !== null) {
    o.cert = fs.readFileSync(certs[`${who}Cert`]);
    o.key = fs.readFileSync(certs[`${who}Key`]);
  }
  return new Promise((resolve) => {
    const s = tls.connect(o);
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => {});
    s.on('close', () => resolve(got));
  });
}

test('rfc2253: certificate order reversed, comma-joined, as X500Principal.getName()', () => {
  assert.equal(rfc2253('C=US\nO=zkts\nCN=client'), 'CN=client,O=zkts,C=US');
  assert.equal(rfc2253('O=zkts\nCN=a + UID=b\n'), 'CN=a+UID=b,O=zkts');
});

test('clientAuth=need: a trusted certificate passes with its DN; others are refused and counted', async () => {
  const h = await harness('need');
  try {
    assert.equal(await dial(h.port, 'client'), 'ok');
    assert.deepEqual(h.secured, [{ dn: certs.clientDn, superUser: false }]);
    assert.equal(await dial(h.port, 'other'), 'ok');
    assert.deepEqual(h.secured[1], { dn: certs.otherDn, superUser: true });
    for (const who of ['expired', 'untrusted', null] as const) assert.equal(await dial(h.port, who), '', String(who));
    assert.equal(Atomics.load(h.counters, TlsCounter.unsuccessfulHandshakes), 3);
    assert.equal(Atomics.load(h.counters, TlsCounter.handshakes), 2);
    assert.ok(lines.some((l) => l.startsWith('Unsuccessful TLS handshake')));
  } finally {
    await h.close();
  }
});

test('clientAuth=want: no certificate passes without an identity, an untrusted one does not', async () => {
  const h = await harness('want');
  try {
    assert.equal(await dial(h.port, null), 'ok');
    assert.deepEqual(h.secured, [null]);
    assert.equal(await dial(h.port, 'untrusted'), '');
    assert.equal(Atomics.load(h.counters, TlsCounter.unsuccessfulHandshakes), 1);
  } finally {
    await h.close();
  }
});

test('a silent client is closed after the handshake timeout, counted as a timeout', async () => {
  const h = await harness('none', 200);
  try {
    const s = net.connect({ host: '127.0.0.1', port: h.port });
    await new Promise<void>((r) => s.on('close', () => r()).on('error', () => {}));
    assert.equal(Atomics.load(h.counters, TlsCounter.handshakeTimeouts), 1);
    assert.equal(Atomics.load(h.counters, TlsCounter.unsuccessfulHandshakes), 1);
  } finally {
    await h.close();
  }
});

test('close ends connections still in their handshake', async () => {
  const h = await harness('none', 120_000); // far past the deadline below
  try {
    const s = net.connect({ host: '127.0.0.1', port: h.port });
    await new Promise<void>((r) => s.once('connect', () => r()));
    const gone = new Promise<void>((r) => s.on('close', () => r()).on('error', () => {}));
    // The server side may not have accepted yet: close again until it had a socket to end.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !s.destroyed) {
      h.tlsPort.close();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 20))]);
    }
    assert.ok(s.destroyed, 'closed by close(), not by the handshake timeout');
  } finally {
    await h.close();
  }
});

test('reload: handshakes after it use the new key store', async () => {
  const h = await harness('none');
  try {
    // A key store whose certificate the client does not trust: the handshake fails on its side.
    h.tlsPort.reload({ key: fs.readFileSync(certs.untrustedKey), cert: fs.readFileSync(certs.untrustedCert) });
    assert.equal(await dial(h.port, null), '');
    h.tlsPort.reload({ pfx: fs.readFileSync(certs.serverP12), passphrase: STORE_PASSWORD });
    assert.equal(await dial(h.port, null), 'ok');
  } finally {
    await h.close();
  }
});
