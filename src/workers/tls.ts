// secureClientPort: the TLS handshake, in the session worker that accepted the connection (as
// ZooKeeper's NettyServerCnxnFactory runs its SslHandler on the channel's event loop). Once the
// handshake is done the TLSSocket is an ordinary client connection (Conn takes any net.Socket).
//
// The Listener accepts and counts the raw socket (maxClientCnxns), then hands it to a tls.Server
// that never listens itself (`emit('connection')`): Node's server-side handshake, its timeout
// and setSecureContext (the certificate reload) without a second accept path.
//
// What closes a connection here, each with a counted failure (ZooKeeper's unsuccessful_handshake)
// and a log line (at most one per tlsFailureLogIntervalMs, with how many since): a handshake that
// fails (a plaintext ConnectRequest or four-letter word, a protocol or cipher mismatch), one that
// does not finish within clientTlsHandshakeTimeoutMs, and a client certificate the trust store
// does not vouch for (expired, unknown CA), or none where ssl.clientAuth=need. With want, a client
// without a certificate is let in, one with an untrusted certificate is not (ZooKeeper's
// CertificateVerifier runs X509AuthenticationProvider, which fails it).
//
// node:tls is loaded only when secureClientPort is configured (the idle RSS of a plain observer).

import { createRequire } from 'node:module';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { ClientTlsInit, TlsKeyOptions } from '../shm/tls.js';
import { TlsCounter } from '../shm/tls.js';
import { clientTlsHandshakeTimeoutMs, tlsFailureLogIntervalMs } from './limits.js';
import type { WorkerLog } from './log.js';

const require = createRequire(import.meta.url);
let tlsModule: typeof tls | null = null;
function tlsLib(): typeof tls {
  tlsModule ??= require('node:tls') as typeof tls;
  return tlsModule;
}

/** The identity a client certificate gives its connection (X509AuthenticationProvider). */
export interface X509Identity {
  /** The subject as Java's X500Principal.getName() writes it (RFC 2253: most specific first). */
  readonly dn: string;
  /** The DN is X509AuthenticationProvider.superUser. */
  readonly superUser: boolean;
}

/**
 * RFC 2253 from node's X509Certificate.subject ("C=US\nO=zkts\nCN=client", in certificate order,
 * values escaped as RFC 2253 asks): reversed and comma-joined, as X500Principal.getName() gives
 * "CN=client,O=zkts,C=US". Multi-valued RDNs ("a + b") become "a+b". Attribute types outside
 * RFC 2253's keywords keep OpenSSL's short name (Java would print their OID).
 */
export function rfc2253(subject: string): string {
  return subject
    .split('\n')
    .filter((l) => l !== '')
    .reverse()
    .map((l) => l.replace(/ \+ /g, '+'))
    .join(',');
}

export interface TlsPortOptions {
  init: ClientTlsInit;
  /** The shared TlsCounter cells. */
  counters: Int32Array;
  log: WorkerLog;
  /** A connection whose handshake (and certificate check) passed. */
  onSecure(socket: tls.TLSSocket, identity: X509Identity | null): void;
  handshakeTimeoutMs?: number;
}

export class TlsPort {
  readonly #server: tls.Server;
  readonly #o: TlsPortOptions;
  #loggedMs = -Infinity;
  #sinceLog = 0;
  /** Raw sockets of this port still open (handshaking or handed over): close() ends them, so a
   *  stopping worker does not wait out a handshake timeout. */
  readonly #raw = new Set<net.Socket>();

  constructor(o: TlsPortOptions) {
    this.#o = o;
    const i = o.init;
    this.#server = tlsLib().createServer({
      ...contextOptions(i, i.keys),
      requestCert: i.clientAuth !== 'none',
      // Checked in #secure, so that a refused certificate is counted and logged like any other
      // failed handshake (Node would destroy the socket without a word).
      rejectUnauthorized: false,
      handshakeTimeout: o.handshakeTimeoutMs ?? clientTlsHandshakeTimeoutMs,
      allowHalfOpen: true,
    });
    this.#server.on('secureConnection', (socket: tls.TLSSocket) => this.#secure(socket));
    this.#server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      const timeout = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
      if (timeout) Atomics.add(this.#o.counters, TlsCounter.handshakeTimeouts, 1);
      this.#failed(socket, timeout ? 'handshake not finished in time' : err.message);
    });
  }

  /** An accepted raw connection: its handshake starts. */
  handle(raw: net.Socket): void {
    this.#raw.add(raw);
    raw.once('close', () => this.#raw.delete(raw));
    this.#server.emit('connection', raw);
  }

  /** Ends every connection of the port, handshaking or not (the worker stops). */
  close(): void {
    for (const raw of this.#raw) raw.destroy();
    this.#raw.clear();
  }

  /** New key, certificate and CAs for the handshakes that start from now on. */
  reload(keys: TlsKeyOptions): void {
    this.#server.setSecureContext(contextOptions(this.#o.init, keys));
  }

  #secure(socket: tls.TLSSocket): void {
    const auth = this.#o.init.clientAuth;
    if (auth === 'none') {
      this.#passed(socket, null);
      return;
    }
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) {
      if (auth === 'need') this.#failed(socket, 'no client certificate (ssl.clientAuth=need)');
      else this.#passed(socket, null);
      return;
    }
    if (!socket.authorized) {
      this.#failed(socket, `client certificate refused: ${String(socket.authorizationError)}`);
      return;
    }
    const dn = rfc2253(cert.subject);
    this.#passed(socket, { dn, superUser: dn === this.#o.init.x509SuperUser });
  }

  #passed(socket: tls.TLSSocket, identity: X509Identity | null): void {
    Atomics.add(this.#o.counters, TlsCounter.handshakes, 1);
    this.#o.onSecure(socket, identity);
  }

  #failed(socket: tls.TLSSocket, why: string): void {
    Atomics.add(this.#o.counters, TlsCounter.unsuccessfulHandshakes, 1);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.destroy();
    this.#sinceLog++;
    const now = performance.now();
    if (now - this.#loggedMs < tlsFailureLogIntervalMs) return;
    this.#loggedMs = now;
    // NettyServerCnxnFactory.CertificateVerifier: "Unsuccessful handshake with session 0x0".
    this.#o.log.warn({ remote, why, failures: this.#sinceLog }, `Unsuccessful TLS handshake from /${remote}: ${why}`);
    this.#sinceLog = 0;
  }
}

/** Buffers again: structured cloning turned the main thread's Buffers into Uint8Arrays. */
function asBuffer(u: Uint8Array | undefined): Buffer | undefined {
  return u === undefined ? undefined : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function contextOptions(i: ClientTlsInit, keys: TlsKeyOptions): tls.SecureContextOptions {
  const o: tls.SecureContextOptions = { minVersion: i.minVersion, maxVersion: i.maxVersion };
  if (keys.pfx !== undefined) o.pfx = asBuffer(keys.pfx);
  if (keys.key !== undefined) o.key = asBuffer(keys.key);
  if (keys.cert !== undefined) o.cert = asBuffer(keys.cert);
  if (keys.ca !== undefined) o.ca = asBuffer(keys.ca);
  if (keys.passphrase !== undefined) o.passphrase = keys.passphrase;
  if (i.ciphers !== null) o.ciphers = i.ciphers;
  return o;
}
