// TLS on the client port (zoo.cfg secureClientPort and ZooKeeper's ssl.* keys, which ZooKeeper's
// ClientX509Util reads as zookeeper.ssl.* system properties; zoo.cfg's unknown keys become those).
// The key and trust stores are read here once at start, and again by the certificate reload
// (client.certReload, main/client-tls-reload.ts) from the same paths.
//
// What ZooKeeper 3.8's X509Util means by each key, and what zkts does with it:
// - ssl.keyStore.location|password|type: PEM (key + certificate chain in one file) or PKCS12;
//   the type defaults from the file name (.pem/.crt/.key, .p12/.pfx). JKS and BCFKS cannot be
//   read here (keytool -importkeystore converts JKS to PKCS12). passwordPath: the password in a file.
// - ssl.trustStore.*: the CAs that sign client certificates; PEM, or PKCS12 (keytool -importcert
//   -storetype PKCS12, or openssl pkcs12 -export -nokeys) whose certificates are read with the
//   password (node-forge, loaded only then) and handed on as PEM. Needed unless clientAuth=none.
// - ssl.clientAuth: none | want | need (ZooKeeper's default: need).
// - ssl.protocol (default TLSv1.3, as on a Java that has it) and ssl.enabledProtocols (default:
//   TLSv1.3 and TLSv1.2 when the protocol is TLSv1.3, else the protocol alone).
// - ssl.ciphersuites: IANA names as Java takes them (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or
//   OpenSSL's; default OpenSSL's (Node's) list.
// - X509AuthenticationProvider.superUser: the subject DN whose certificate is the super user.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type * as Forge from 'node-forge';

/** A key or trust store as read from its file. */
export interface TlsStore {
  readonly type: 'PEM' | 'PKCS12';
  /** Absolute path (watched by the certificate reload). */
  readonly path: string;
  /** The file's bytes; a trust store's are its CA certificates as PEM (a PKCS12 trust store's
   *  certificates, converted when read). */
  readonly data: Buffer;
  readonly password: string | null;
}

export type ClientAuth = 'none' | 'want' | 'need';
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** secureClientPort's TLS settings. */
export interface ClientTlsConfig {
  readonly keyStore: TlsStore;
  /** PEM CA certificates; null only with clientAuth=none. */
  readonly trustStore: TlsStore | null;
  readonly clientAuth: ClientAuth;
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** An OpenSSL cipher list for Node's `ciphers`, or null for Node's default. */
  readonly ciphers: string | null;
  /** client.certReload (ZooKeeper 3.8.1+, zookeeper.client.certReload): reload both stores when
   *  their files change. */
  readonly certReload: boolean;
  /** X509AuthenticationProvider.superUser: a client whose certificate subject is this DN holds
   *  the super id. */
  readonly x509SuperUser: string | null;
}

/** What the config reader offers this file (config.ts's Reader). */
export interface KeyReader {
  readonly problems: string[];
  raw(key: string): string | undefined;
  bool(key: string): boolean;
}

const tlsVersions: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** IANA (Java) cipher suite names → OpenSSL's, for the TLS 1.2 suites worth enabling; TLS 1.3
 *  suites have the same name in both. */
const ianaToOpenSsl: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'DHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 'ECDHE-ECDSA-AES256-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 'ECDHE-RSA-AES256-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_CBC_SHA256: 'AES256-SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
};
const tls13Suites = new Set(['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256']);

/** The store type from ssl.*.type or the file name; null: not one zkts reads. */
export function storeType(explicit: string | undefined, path: string): 'PEM' | 'PKCS12' | null {
  const t = (explicit ?? '').toUpperCase();
  if (t === 'PEM' || t === 'PKCS12') return t;
  if (t !== '') return null;
  if (/\.(pem|crt|key)$/i.test(path)) return 'PEM';
  if (/\.(p12|pfx)$/i.test(path)) return 'PKCS12';
  return null;
}

/** Reads a store file again (the certificate reload); throws with the file's problem. */
export function rereadStore(s: TlsStore): TlsStore {
  return { ...s, data: readFileSync(s.path) };
}

/** Reads a trust store file again: its CA certificates as PEM; throws with the file's problem. */
export function rereadTrustStore(s: TlsStore): TlsStore {
  return { ...s, data: trustPem(s.type, readFileSync(s.path), s.password) };
}

const require = createRequire(import.meta.url);
let forgeModule: typeof Forge | null = null;

/**
 * The certificates of a PKCS12 trust store as PEM, for node:tls's `ca`: every certBag, whether
 * openssl (pkcs12 -export -nokeys) or Java's keytool (-importcert: trusted-certificate bags with
 * Java's trust attribute) wrote it. node-forge is loaded on first use. Throws when the password
 * does not open the file (its MAC or encryption) or it holds no certificate.
 */
export function pkcs12TrustPem(data: Buffer, password: string | null): Buffer {
  forgeModule ??= require('node-forge') as typeof Forge;
  const forge = forgeModule;
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(data.toString('binary'))), false, password ?? '');
  } catch (e) {
    throw new Error(`not a PKCS12 file that this password opens (${(e as Error).message}); a JKS trust store is not readable here: convert it with keytool -importkeystore -deststoretype PKCS12`);
  }
  const certBag = forge.pki.oids.certBag as string;
  const bags = p12.getBags({ bagType: certBag })[certBag] ?? [];
  const pems = bags.map((b: Forge.pkcs12.Bag) => {
    // node-forge parses RSA certificates into b.cert; others (EC) stay as b.asn1.
    const asn1 = b.cert !== undefined && b.cert !== null ? forge.pki.certificateToAsn1(b.cert) : b.asn1;
    const der = forge.asn1.toDer(asn1).getBytes();
    return forge.pem.encode({ type: 'CERTIFICATE', body: der });
  });
  if (pems.length === 0) throw new Error('holds no certificate');
  return Buffer.from(pems.join(''), 'utf8');
}

/** A trust store's contents as PEM CA certificates (PEM: as is). */
export function trustPem(type: 'PEM' | 'PKCS12', data: Buffer, password: string | null): Buffer {
  return type === 'PKCS12' ? pkcs12TrustPem(data, password) : data;
}

/** ssl.ciphersuites as an OpenSSL cipher list; unknown IANA names are problems. */
export function cipherList(value: string, problems: string[]): string | null {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return null;
  const out: string[] = [];
  for (const n of names) {
    if (tls13Suites.has(n) || !n.startsWith('TLS_')) out.push(n);
    else if (ianaToOpenSsl[n] !== undefined) out.push(ianaToOpenSsl[n]);
    else problems.push(`ssl.ciphersuites: ${n} is not a cipher suite zkts knows (use OpenSSL's name)`);
  }
  return out.join(':');
}

/** ssl.protocol + ssl.enabledProtocols as Node's minVersion..maxVersion. */
export function protocolRange(protocol: string | undefined, enabled: string | undefined, problems: string[]): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const version = (v: string, key: string): TlsVersion | null => {
    if ((tlsVersions as readonly string[]).includes(v)) return v as TlsVersion;
    problems.push(`${key}=${v}: must be one of ${tlsVersions.join(', ')}`);
    return null;
  };
  let list: TlsVersion[];
  if (enabled !== undefined && enabled.trim() !== '') {
    list = enabled.split(',').map((s) => version(s.trim(), 'ssl.enabledProtocols')).filter((v): v is TlsVersion => v !== null);
  } else {
    const p = protocol === undefined || protocol === '' || protocol === 'TLS' ? 'TLSv1.3' : version(protocol, 'ssl.protocol');
    list = p === 'TLSv1.3' ? ['TLSv1.2', 'TLSv1.3'] : p === null ? ['TLSv1.2', 'TLSv1.3'] : [p];
  }
  if (list.length === 0) list = ['TLSv1.2', 'TLSv1.3'];
  const idx = list.map((v) => tlsVersions.indexOf(v));
  return { minVersion: tlsVersions[Math.min(...idx)]!, maxVersion: tlsVersions[Math.max(...idx)]! };
}

function readPassword(r: KeyReader, key: string): string | null {
  const inline = r.raw(key);
  const pathKey = `${key}Path`;
  const file = r.raw(pathKey);
  if (inline !== undefined) return inline;
  if (file === undefined) return null;
  try {
    return readFileSync(resolve(file), 'utf8').trim();
  } catch (e) {
    r.problems.push(`${pathKey}=${file}: ${(e as Error).message}`);
    return null;
  }
}

function readStore(r: KeyReader, prefix: string, trust: boolean): TlsStore | null {
  const location = r.raw(`${prefix}.location`);
  const password = readPassword(r, `${prefix}.password`);
  const explicit = r.raw(`${prefix}.type`);
  if (location === undefined || location === '') return null;
  const type = storeType(explicit, location);
  if (type === null) {
    r.problems.push(`${prefix}.location=${location}: must be PEM or PKCS12 (JKS is not readable here: keytool -importkeystore -deststoretype PKCS12 converts it); set ${prefix}.type or name the file .pem/.p12`);
    return null;
  }
  const path = resolve(location);
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    r.problems.push(`${prefix}.location: ${(e as Error).message}`);
    return null;
  }
  if (!trust) return { type, path, data, password };
  try {
    return { type, path, data: trustPem(type, data, password), password };
  } catch (e) {
    r.problems.push(`${prefix}.location=${location} (${type}): ${(e as Error).message}`);
    return null;
  }
}

/** The ssl.* keys of the client port; null when secureClientPort is not set (the keys are then
 *  read, so not reported as unknown, and ignored). */
export function clientTls(r: KeyReader, securePortSet: boolean): ClientTlsConfig | null {
  const before = r.problems.length;
  const authRaw = (r.raw('ssl.clientAuth') ?? 'need').toLowerCase();
  const protocol = r.raw('ssl.protocol');
  const enabled = r.raw('ssl.enabledProtocols');
  const ciphersRaw = r.raw('ssl.ciphersuites');
  const certReload = r.bool('client.certReload');
  const superUser = r.raw('X509AuthenticationProvider.superUser') ?? null;
  r.raw('serverCnxnFactory'); // NettyServerCnxnFactory or NIO: zkts has one; accepted quietly
  r.raw('ssl.hostnameVerification'); // the clients' check of the server; the server checks no client name
  r.raw('client.secure'); // a client-side key, read by clients from the same file
  if (!securePortSet) {
    for (const store of ['ssl.keyStore', 'ssl.trustStore']) {
      for (const k of ['location', 'password', 'passwordPath', 'type']) r.raw(`${store}.${k}`);
    }
    return null;
  }
  const clientAuth: ClientAuth = authRaw === 'none' || authRaw === 'want' ? authRaw : 'need';
  if (authRaw !== 'none' && authRaw !== 'want' && authRaw !== 'need' && authRaw !== '') {
    r.problems.push(`ssl.clientAuth=${authRaw}: must be none, want or need`);
  }
  const keyStore = readStore(r, 'ssl.keyStore', false);
  if (keyStore === null && r.problems.length === before) r.problems.push('secureClientPort needs ssl.keyStore.location');
  const trustStore = readStore(r, 'ssl.trustStore', true);
  if (trustStore === null && clientAuth !== 'none' && r.problems.length === before) {
    r.problems.push(`ssl.clientAuth=${clientAuth} needs ssl.trustStore.location (the CAs of client certificates)`);
  }
  const range = protocolRange(protocol, enabled, r.problems);
  const ciphers = ciphersRaw === undefined ? null : cipherList(ciphersRaw, r.problems);
  if (keyStore === null || r.problems.length > before) return null;
  return { keyStore, trustStore, clientAuth, ...range, ciphers, certReload, x509SuperUser: superUser };
}
