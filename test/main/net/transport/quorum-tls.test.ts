// Quorum TLS (zoo.cfg sslQuorum, ssl.quorum.*): QuorumTransport over TLS with certificates
// both ways, on 127.0.0.1 ports 23192-23196 only (SUITE_PORTS.advQuorum's block). Certificates
// are made for the test with the openssl command line: a CA, members signed by it (a PEM key
// store, and a PKCS12 one), and a member signed by another CA.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../../../../src/main/config.js';
import { encodeHelloFrame } from '../../../../src/main/net/codec.js';
import { QuorumTransport, type PeerAddress, type QuorumTlsOptions } from '../../../../src/main/net/transport.js';
import type { Msg } from '../../../../src/main/zab/messages.js';

const host = '127.0.0.1';
const ports = [23192, 23193, 23194, 23195, 23196];
const dir = mkdtempSync(join(tmpdir(), 'zkts-quorum-tls-'));
const open: QuorumTransport[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA named `ca`, and a member certificate `name` (for 127.0.0.1) signed by it: name.pem holds key + certificate. */
function makeCa(ca: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
}
function makeMember(name: string, ca: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'san.ext');
  writeFileSync(join(dir, `${name}.pem`), Buffer.concat([readFileSync(join(dir, `${name}.key`)), readFileSync(join(dir, `${name}.crt`))]));
}

before(() => {
  makeCa('ca');
  makeCa('rogue-ca');
  for (const m of ['m1', 'm2', 'm3']) makeMember(m, 'ca');
  makeMember('rogue', 'rogue-ca');
  openssl('pkcs12', '-export', '-in', 'm3.crt', '-inkey', 'm3.key', '-out', 'm3.p12', '-passout', 'pass:changeit');
});

after(async () => {
  await Promise.all(open.map((t) => t.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** The transport options the driver builds from zoo.cfg for a member's key store. */
function tlsOf(keyStore: string, password?: string, ca = 'ca'): QuorumTlsOptions {
  const cfg = loadConfig(
    writeCfg([
      'sslQuorum=true',
      `ssl.quorum.keyStore.location=${join(dir, keyStore)}`,
      ...(password !== undefined ? [`ssl.quorum.keyStore.password=${password}`] : []),
      `ssl.quorum.trustStore.location=${join(dir, `${ca}.crt`)}`,
    ]),
  );
  const t = cfg.quorumTls!;
  const own = t.keyStore.type === 'PKCS12' ? { pfx: t.keyStore.data, passphrase: t.keyStore.password ?? undefined } : { key: t.keyStore.data, cert: t.keyStore.data };
  return { context: { ...own, ca: t.trustStore }, hostnameVerification: t.hostnameVerification };
}

let cfgCount = 0;
function writeCfg(lines: string[]): string {
  const p = join(dir, `zoo-${cfgCount++}.cfg`);
  writeFileSync(p, lines.join('\n'));
  return p;
}

interface Node {
  readonly t: QuorumTransport;
  readonly received: Msg[];
  readonly warnings: string[];
}

function node(myId: number, peers: Map<number, PeerAddress>, tlsOptions: QuorumTlsOptions): Node {
  const warnings: string[] = [];
  const received: Msg[] = [];
  const t = new QuorumTransport({
    myId,
    peers,
    listenHost: host,
    listenPort: peers.get(myId)!.port,
    tls: tlsOptions,
    reconnectDelayMsMin: 20,
    reconnectDelayMsMax: 200,
    logger: { debug() {}, info() {}, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
  });
  t.on('message', (_from, msg) => received.push(msg));
  open.push(t);
  return { t, received, warnings };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('quorum TLS', () => {
  test('members with certificates from the trusted CA (PEM and PKCS12 key stores) form a mesh; another CA is refused', async () => {
    const peers = new Map([1, 2, 3, 4].map((id) => [id, { host, port: ports[id - 1]! }]));
    const nodes = [node(1, peers, tlsOf('m1.pem')), node(2, peers, tlsOf('m2.pem')), node(3, peers, tlsOf('m3.p12', 'changeit')), node(4, peers, tlsOf('rogue.pem', undefined, 'rogue-ca'))];
    await Promise.all(nodes.map((n) => n.t.start()));
    await waitFor('1, 2 and 3 connected', () => nodes.slice(0, 3).every((n) => n.t.connectedPeers().length === 2));
    assert.ok(nodes[0]!.t.send(3, { type: 'PING' }));
    await waitFor('delivered over TLS', () => nodes[2]!.received.length > 0);
    // 4 dials 1, 2 and 3: its certificate is not trusted there, and theirs not by it.
    await waitFor('4 refused', () => nodes.slice(0, 3).some((n) => n.warnings.some((w) => w.includes('quorum TLS handshake refused'))));
    assert.deepStrictEqual(nodes[3]!.t.connectedPeers(), []);
    for (const n of nodes.slice(0, 3)) assert.equal(n.t.isConnected(4), false);
    await Promise.all(nodes.map((n) => n.t.close()));
  });

  test('a plain TCP Hello on a TLS quorum port opens nothing', async () => {
    const peers = new Map([[1, { host, port: ports[4]! }], [2, { host, port: ports[1]! }]]);
    const n = node(1, peers, tlsOf('m1.pem'));
    await n.t.start();
    const s = net.connect({ host, port: ports[4]! });
    s.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    s.write(encodeHelloFrame({ cluster: 'zkts', sender: 2, receiver: 1, nonce: new Uint8Array(0), mac: new Uint8Array(0) }));
    await closed;
    assert.equal(n.t.isConnected(2), false);
    assert.ok(n.warnings.some((w) => w.includes('quorum TLS handshake refused')));
    await n.t.close();
  });

  test('zoo.cfg: sslQuorum needs both stores; JKS is refused with a hint', () => {
    const problem = (lines: string[]): string => {
      try {
        loadConfig(writeCfg(lines));
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.message;
      }
      return assert.fail('expected a ConfigError');
    };
    assert.match(problem(['sslQuorum=true']), /needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location/);
    assert.match(problem(['sslQuorum=true', 'ssl.quorum.keyStore.location=/x/k.jks', `ssl.quorum.trustStore.location=${join(dir, 'ca.crt')}`]), /JKS: convert/);
    assert.equal(loadConfig(writeCfg(['tickTime=2000'])).quorumTls, null);
  });
});
