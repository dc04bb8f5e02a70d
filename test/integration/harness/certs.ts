// Certificates for TLS tests, made with the openssl command line (and keytool for a Java trust
// store) in a temporary directory: a CA, a server certificate for 127.0.0.1/localhost, client
// certificates (good, expired, signed by another CA), and the key/trust stores ZooKeeper's
// clients and servers read (PKCS12 and PEM). EC P-256 keys: fast to make.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const STORE_PASSWORD = 'zkts-secret';

export interface TestCerts {
  dir: string;
  /** CA certificate (PEM): the trust store of both sides. */
  caPem: string;
  /** The same CA as a PKCS12 trust store (keytool), for the Java client. */
  caP12: string;
  /** The other CA (PEM), which signs untrustedCert and server2Pem. */
  roguePem: string;
  /** A second server key store (PEM), signed by the other CA: the certificate reload's new one. */
  server2Pem: string;
  /** Server key store: PKCS12 (STORE_PASSWORD) and PEM (key + certificate in one file). */
  serverP12: string;
  serverPem: string;
  /** Client certificate + key (PEM files) and as PKCS12 (STORE_PASSWORD). */
  clientCert: string;
  clientKey: string;
  clientP12: string;
  /** The client certificate's subject as X500Principal.getName() prints it. */
  clientDn: string;
  /** A second trusted client, another DN. */
  otherCert: string;
  otherKey: string;
  otherDn: string;
  /** A third trusted client, for X509AuthenticationProvider.superUser. */
  adminCert: string;
  adminKey: string;
  adminDn: string;
  /** Expired (notAfter in the past), signed by the CA. */
  expiredCert: string;
  expiredKey: string;
  /** Signed by a CA the server does not trust. */
  untrustedCert: string;
  untrustedKey: string;
  /** Removes the directory. */
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function selfSignedCa(dir: string, name: string, cn: string): void {
  openssl(dir, ['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/CN=${cn}`]);
}

/** A key and certificate `name`.{key,crt} for `subject`, signed by CA `ca`. */
function signed(dir: string, o: { name: string; subject: string; ca: string; days: number; san?: string }): void {
  openssl(dir, ['req', '-new', ...ec, '-keyout', `${o.name}.key`, '-out', `${o.name}.csr`, '-subj', o.subject]);
  const args = ['x509', '-req', '-in', `${o.name}.csr`, '-CA', `${o.ca}.pem`, '-CAkey', `${o.ca}.key`, '-CAcreateserial', '-out', `${o.name}.crt`, '-days', String(o.days)];
  if (o.san !== undefined) {
    fs.writeFileSync(path.join(dir, `${o.name}.ext`), `subjectAltName=${o.san}\n`);
    args.push('-extfile', `${o.name}.ext`);
  }
  openssl(dir, args);
}

function p12(dir: string, name: string, withCa: boolean): string {
  const out = `${name}.p12`;
  const args = ['pkcs12', '-export', '-in', `${name}.crt`, '-inkey', `${name}.key`, '-out', out, '-passout', `pass:${STORE_PASSWORD}`, '-name', name];
  if (withCa) args.push('-certfile', 'ca.pem');
  openssl(dir, args);
  return path.join(dir, out);
}

export function makeTestCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-tls-'));
  const p = (f: string): string => path.join(dir, f);
  selfSignedCa(dir, 'ca', 'zkts test CA');
  selfSignedCa(dir, 'rogue', 'rogue CA');
  signed(dir, { name: 'server', subject: '/CN=localhost', ca: 'ca', days: 30, san: 'IP:127.0.0.1,DNS:localhost' });
  signed(dir, { name: 'client', subject: '/C=US/O=zkts/CN=client', ca: 'ca', days: 30 });
  signed(dir, { name: 'other', subject: '/O=zkts/CN=other client', ca: 'ca', days: 30 });
  signed(dir, { name: 'admin', subject: '/O=zkts/OU=ops/CN=admin', ca: 'ca', days: 30 });
  signed(dir, { name: 'expired', subject: '/CN=expired client', ca: 'ca', days: -1 });
  signed(dir, { name: 'untrusted', subject: '/CN=untrusted client', ca: 'rogue', days: 30 });
  signed(dir, { name: 'server2', subject: '/CN=localhost', ca: 'rogue', days: 30, san: 'IP:127.0.0.1,DNS:localhost' });
  fs.writeFileSync(p('server2.pem'), fs.readFileSync(p('server2.key'), 'utf8') + fs.readFileSync(p('server2.crt'), 'utf8'));
  fs.writeFileSync(p('server.pem'), fs.readFileSync(p('server.key'), 'utf8') + fs.readFileSync(p('server.crt'), 'utf8'));
  execFileSync('keytool', ['-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), '-keystore', p('ca.p12'), '-storetype', 'PKCS12', '-storepass', STORE_PASSWORD], { stdio: ['ignore', 'ignore', 'pipe'] });
  return {
    dir,
    caPem: p('ca.pem'),
    caP12: p('ca.p12'),
    roguePem: p('rogue.pem'),
    server2Pem: p('server2.pem'),
    serverP12: p12(dir, 'server', true),
    serverPem: p('server.pem'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    clientP12: p12(dir, 'client', false),
    clientDn: 'CN=client,O=zkts,C=US',
    otherCert: p('other.crt'),
    otherKey: p('other.key'),
    otherDn: 'CN=other client,O=zkts',
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    adminDn: 'CN=admin,OU=ops,O=zkts',
    expiredCert: p('expired.crt'),
    expiredKey: p('expired.key'),
    untrustedCert: p('untrusted.crt'),
    untrustedKey: p('untrusted.key'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
