// secureClientPort's ssl.* keys (src/main/config-tls.ts), read through loadConfig as zoo.cfg has them.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/main/config.js';
import { cipherList, protocolRange, storeType } from '../../src/main/config-tls.js';

const dir = mkdtempSync(join(tmpdir(), 'zkts-cfgtls-'));
const keyPem = join(dir, 'server.pem');
const keyP12 = join(dir, 'server.p12');
const caPem = join(dir, 'ca.pem');
writeFileSync(keyPem, 'not really PEM: read as bytes, checked by the worker');
writeFileSync(keyP12, Buffer.from([0x30, 0x82]));
writeFileSync(caPem, 'ca');

function load(lines: string[]): ReturnType<typeof loadConfig> {
  const p = join(mkdtempSync(join(tmpdir(), 'zkts-cfgtls-')), 'zoo.cfg');
  writeFileSync(p, `dataDir=${dir}/data\n${lines.join('\n')}\n`);
  return loadConfig(p);
}

function problems(lines: string[]): string[] {
  try {
    load(lines);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  return [];
}

test('no secureClientPort: no TLS, the plain port as before; ssl.* keys are not unknown', () => {
  const c = load(['clientPort=2191', `ssl.keyStore.location=${keyPem}`]);
  assert.equal(c.clientTls, null);
  assert.equal(c.secureClientPort, null);
  assert.equal(c.clientPortEnabled, true);
  assert.deepEqual(c.ignoredKeys, []);
});

test("secureClientPort beside clientPort, ZooKeeper's defaults: clientAuth need, TLSv1.2..1.3", () => {
  const c = load(['clientPort=2191', 'secureClientPort=2281', `ssl.keyStore.location=${keyP12}`, 'ssl.keyStore.password=pw', `ssl.trustStore.location=${caPem}`, 'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory']);
  const t = c.clientTls;
  assert.ok(t !== null);
  assert.equal(c.secureClientPort, 2281);
  assert.equal(c.clientPortEnabled, true);
  assert.equal(t.keyStore.type, 'PKCS12');
  assert.equal(t.keyStore.password, 'pw');
  assert.equal(t.trustStore?.type, 'PEM');
  assert.equal(t.clientAuth, 'need');
  assert.equal(t.minVersion, 'TLSv1.2');
  assert.equal(t.maxVersion, 'TLSv1.3');
  assert.equal(t.ciphers, null);
  assert.equal(t.certReload, false);
  assert.deepEqual(c.ignoredKeys, [], 'serverCnxnFactory is accepted quietly');
});

test('secureClientPort alone: no plain port; clientAuth=none needs no trust store', () => {
  const c = load(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, 'ssl.clientAuth=none', 'client.certReload=true', 'X509AuthenticationProvider.superUser=CN=admin']);
  assert.equal(c.clientPortEnabled, false);
  assert.equal(c.clientTls?.keyStore.type, 'PEM');
  assert.equal(c.clientTls?.trustStore, null);
  assert.equal(c.clientTls?.certReload, true);
  assert.equal(c.clientTls?.x509SuperUser, 'CN=admin');
});

test('bad TLS settings are all reported', () => {
  assert.match(problems(['secureClientPort=2281']).join('\n'), /needs ssl\.keyStore\.location/);
  assert.match(problems(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`]).join('\n'), /needs ssl\.trustStore\.location/);
  assert.match(problems(['secureClientPort=2281', `ssl.keyStore.location=${dir}/ks.jks`, 'ssl.clientAuth=none']).join('\n'), /must be PEM or PKCS12/);
  assert.match(problems(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, `ssl.trustStore.location=${keyP12}`]).join('\n'), /ssl\.trustStore\.location=.*not a PKCS12 file.*JKS.*keytool -importkeystore -deststoretype PKCS12/);
  assert.match(problems(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, `ssl.trustStore.location=${dir}/ts.jks`, 'ssl.trustStore.type=JKS']).join('\n'), /JKS is not readable here: keytool -importkeystore -deststoretype PKCS12/);
  assert.match(problems(['secureClientPort=2281', `ssl.keyStore.location=${dir}/missing.pem`, 'ssl.clientAuth=none']).join('\n'), /ENOENT/);
  assert.match(problems(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, 'ssl.clientAuth=sometimes']).join('\n'), /ssl\.clientAuth=sometimes/);
  assert.match(problems(['clientPort=2281', 'secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, 'ssl.clientAuth=none']).join('\n'), /secureClientPort.*clientPort/);
});

test('store types: explicit or by file name', () => {
  assert.equal(storeType(undefined, 'a.pem'), 'PEM');
  assert.equal(storeType(undefined, 'a.PFX'), 'PKCS12');
  assert.equal(storeType('pkcs12', 'a.bin'), 'PKCS12');
  assert.equal(storeType('JKS', 'a.jks'), null);
  assert.equal(storeType(undefined, 'a.jks'), null);
});

test('ssl.protocol and ssl.enabledProtocols as a version range', () => {
  const p: string[] = [];
  assert.deepEqual(protocolRange(undefined, undefined, p), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
  assert.deepEqual(protocolRange('TLSv1.2', undefined, p), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  assert.deepEqual(protocolRange('TLSv1.2', 'TLSv1.3', p), { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  assert.deepEqual(protocolRange(undefined, 'TLSv1.1, TLSv1.2', p), { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.2' });
  assert.deepEqual(p, []);
  protocolRange('SSLv3', undefined, p);
  assert.match(p.join(), /ssl\.protocol=SSLv3/);
});

test("ssl.ciphersuites: Java's IANA names become OpenSSL's; TLS 1.3 and OpenSSL names pass", () => {
  const p: string[] = [];
  assert.equal(cipherList('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256,ECDHE-ECDSA-AES256-GCM-SHA384', p), 'ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384');
  assert.deepEqual(p, []);
  cipherList('TLS_NOT_A_SUITE', p);
  assert.match(p.join(), /TLS_NOT_A_SUITE/);
});

/** A CA (PEM) and PKCS12 trust stores of it: openssl's (-nokeys) and Java keytool's. */
function pkcs12TrustStores(): { caPem: string; opensslP12: string; keytoolP12: string; keyOnlyP12: string } {
  const d = mkdtempSync(join(tmpdir(), 'zkts-cfgtls-p12-'));
  const run = (cmd: string, args: string[]): void => void execFileSync(cmd, args, { cwd: d, stdio: ['ignore', 'ignore', 'pipe'] });
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3', '-subj', '/CN=p12 test CA']);
  run('openssl', ['pkcs12', '-export', '-nokeys', '-in', 'ca.pem', '-out', 'openssl.p12', '-passout', 'pass:trust-pw']);
  run('keytool', ['-importcert', '-noprompt', '-storetype', 'PKCS12', '-alias', 'ca', '-file', 'ca.pem', '-keystore', 'keytool.p12', '-storepass', 'trust-pw']);
  run('openssl', ['pkcs12', '-export', '-nocerts', '-inkey', 'ca.key', '-out', 'keyonly.p12', '-passout', 'pass:trust-pw']);
  return { caPem: join(d, 'ca.pem'), opensslP12: join(d, 'openssl.p12'), keytoolP12: join(d, 'keytool.p12'), keyOnlyP12: join(d, 'keyonly.p12') };
}

test('PKCS12 trust stores (openssl -nokeys and keytool -importcert): their CA certificate as PEM; bad ones are ConfigErrors', () => {
  const s = pkcs12TrustStores();
  const ca = new X509Certificate(readFileSync(s.caPem));
  for (const [file, typeLine] of [
    [s.opensslP12, 'ssl.trustStore.type=PKCS12'],
    [s.keytoolP12, ''],
  ] as const) {
    const c = load(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, `ssl.trustStore.location=${file}`, 'ssl.trustStore.password=trust-pw', typeLine]);
    const t = c.clientTls?.trustStore;
    assert.ok(t !== null && t !== undefined, file);
    assert.equal(t.type, 'PKCS12');
    const pem = t.data.toString('utf8');
    assert.equal((pem.match(/BEGIN CERTIFICATE/g) ?? []).length, 1, pem);
    assert.equal(new X509Certificate(pem).fingerprint256, ca.fingerprint256, file);
  }
  const bad = (lines: string[]): string => problems(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, ...lines]).join('\n');
  assert.match(bad([`ssl.trustStore.location=${s.keytoolP12}`, 'ssl.trustStore.password=wrong']), /ssl\.trustStore\.location=.*\(PKCS12\): not a PKCS12 file that this password opens/);
  assert.match(bad([`ssl.trustStore.location=${s.opensslP12}`, 'ssl.trustStore.password=wrong']), /this password opens/);
  assert.match(bad([`ssl.trustStore.location=${s.keyOnlyP12}`, 'ssl.trustStore.password=trust-pw']), /holds no certificate/);
  assert.match(bad([`ssl.trustStore.location=${s.caPem}`, 'ssl.trustStore.type=PKCS12', 'ssl.trustStore.password=trust-pw']), /not a PKCS12 file/);
  const pwFile = join(dir, 'trust.pw');
  writeFileSync(pwFile, 'trust-pw\n');
  const c = load(['secureClientPort=2281', `ssl.keyStore.location=${keyPem}`, `ssl.trustStore.location=${s.keytoolP12}`, `ssl.trustStore.passwordPath=${pwFile}`]);
  assert.match(c.clientTls?.trustStore?.data.toString() ?? '', /BEGIN CERTIFICATE/);
});

test('sslQuorum: a PKCS12 ssl.quorum.trustStore is read with its password', () => {
  const s = pkcs12TrustStores();
  const quorum = (pw: string): string[] => ['server.1=127.0.0.1:2888:3888', 'sslQuorum=true', `ssl.quorum.keyStore.location=${keyPem}`, `ssl.quorum.trustStore.location=${s.keytoolP12}`, `ssl.quorum.trustStore.password=${pw}`];
  const q = load(quorum('trust-pw')).quorumTls;
  assert.ok(q !== null);
  assert.equal(new X509Certificate(q.trustStore).fingerprint256, new X509Certificate(readFileSync(s.caPem)).fingerprint256);
  assert.match(problems(quorum('wrong')).join('\n'), /ssl\.quorum: not a PKCS12 file that this password opens/);
});
