// What the main thread hands the workers for secureClientPort (src/main/client-tls.ts).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientTlsInit, watchClientTlsStores } from '../../src/main/client-tls.js';
import { loadConfig } from '../../src/main/config.js';

test('clientTlsInit: null without secureClientPort; the settings and key options with it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-clienttls-'));
  writeFileSync(join(dir, 'k.pem'), 'key and cert');
  writeFileSync(join(dir, 'ca.pem'), 'ca');
  const cfg = (extra: string): string => {
    const p = join(dir, 'zoo.cfg');
    writeFileSync(p, `dataDir=${dir}/data\n${extra}\n`);
    return p;
  };
  assert.equal(clientTlsInit(loadConfig(cfg('clientPort=2191'))), null);
  const init = clientTlsInit(loadConfig(cfg(`secureClientPort=2281\nssl.keyStore.location=${dir}/k.pem\nssl.trustStore.location=${dir}/ca.pem\nssl.clientAuth=want\nssl.protocol=TLSv1.2`)));
  assert.ok(init !== null);
  assert.equal(init.clientAuth, 'want');
  assert.equal(init.minVersion, 'TLSv1.2');
  assert.equal(init.maxVersion, 'TLSv1.2');
  assert.equal(Buffer.from(init.keys.key!).toString(), 'key and cert');
  assert.equal(Buffer.from(init.keys.ca!).toString(), 'ca');
  assert.equal(init.keys.pfx, undefined);
});

test('watchClientTlsStores: a changed store file is read again after it is quiet; stop ends it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-certreload-'));
  writeFileSync(join(dir, 'k.pem'), 'v1');
  writeFileSync(join(dir, 'other.txt'), 'x');
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, `dataDir=${dir}/data\nsecureClientPort=2281\nssl.keyStore.location=${dir}/k.pem\nssl.clientAuth=none\nclient.certReload=true\n`);
  const t = loadConfig(cfg).clientTls;
  assert.ok(t !== null);
  const got: string[] = [];
  const log = { info: () => {}, warn: (_o: object, msg: string) => void got.push(`warn ${msg}`) };
  const stop = watchClientTlsStores(t, log, (keys) => got.push(Buffer.from(keys.key!).toString()));
  try {
    writeFileSync(join(dir, 'other.txt'), 'y'); // another file in the directory: no reload
    writeFileSync(join(dir, 'k.pem'), 'v2');
    const deadline = Date.now() + 10_000;
    while (!got.includes('v2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got.at(-1), 'v2');
    assert.ok(got.every((g) => g === 'v2'), JSON.stringify(got));
  } finally {
    stop();
  }
});

test('a PKCS12 trust store (keytool): its CA as PEM in the key options, and read again by the certificate reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-clienttls-p12-'));
  const run = (cmd: string, args: string[]): void => void execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name: string): string => {
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '3', '-subj', `/CN=${name}`]);
    run('keytool', ['-importcert', '-noprompt', '-storetype', 'PKCS12', '-alias', name, '-file', `${name}.pem`, '-keystore', `${name}.p12`, '-storepass', 'trust-pw']);
    return new X509Certificate(execFileSync('openssl', ['x509', '-in', join(dir, `${name}.pem`)])).subject;
  };
  assert.equal(ca('ca1'), 'CN=ca1');
  assert.equal(ca('ca2'), 'CN=ca2');
  writeFileSync(join(dir, 'k.pem'), 'key and cert');
  run('cp', ['ca1.p12', 'trust.p12']);
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, `dataDir=${dir}/data\nsecureClientPort=2281\nssl.keyStore.location=${dir}/k.pem\nssl.trustStore.location=${dir}/trust.p12\nssl.trustStore.password=trust-pw\nclient.certReload=true\n`);
  const c = loadConfig(cfg);
  const t = c.clientTls;
  assert.ok(t !== null);
  const init = clientTlsInit(c);
  assert.equal(new X509Certificate(Buffer.from(init!.keys.ca!)).subject, 'CN=ca1');
  const got: string[] = [];
  const log = { info: () => {}, warn: (_o: object, msg: string) => void got.push(`warn ${msg}`) };
  const stop = watchClientTlsStores(t, log, (keys) => got.push(new X509Certificate(Buffer.from(keys.ca!)).subject));
  const waitFor = async (want: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!got.includes(want) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(got.includes(want), JSON.stringify(got));
  };
  try {
    run('cp', ['ca2.p12', 'trust.p12.new']);
    renameSync(join(dir, 'trust.p12.new'), join(dir, 'trust.p12'));
    await waitFor('CN=ca2');
    writeFileSync(join(dir, 'trust.p12'), 'not PKCS12'); // kept out: the stores in use stay
    await waitFor('warn client.certReload: cannot read the key or trust store; keeping the ones in use');
    assert.equal(got.filter((g) => !g.startsWith('warn')).at(-1), 'CN=ca2');
  } finally {
    stop();
  }
});
