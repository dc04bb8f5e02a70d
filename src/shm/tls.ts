// The client port's TLS as the main thread hands it to the session workers (WorkerInit.tls and the
// certificate reload's TlsReloadMessage): plain data that structured-clones, turned into
// node:tls options only in the worker (src/workers/tls.ts), so that nothing loads node:tls
// unless TLS is configured. The quorum's TLS (src/main/net) builds its key options the same way.

/** A key store as read from its file: PEM (key and certificate chain in one file) or PKCS12. */
export interface KeyStoreData<B extends Uint8Array = Uint8Array> {
  readonly type: 'PEM' | 'PKCS12';
  readonly data: B;
  readonly password: string | null;
}

/** The subset of node:tls SecureContextOptions a key store and CA list become (B: Buffer on the
 *  thread that read the files; a worker receives them as Uint8Array). */
export interface TlsKeyOptions<B extends Uint8Array = Uint8Array> {
  pfx?: B;
  key?: B;
  cert?: B;
  passphrase?: string;
  ca?: B;
}

/** A key store (and the trusted CAs, PEM) as SecureContextOptions fields. */
export function tlsKeyOptions<B extends Uint8Array>(keyStore: KeyStoreData<B>, trustStore: B | null): TlsKeyOptions<B> {
  const out: TlsKeyOptions<B> = keyStore.type === 'PKCS12' ? { pfx: keyStore.data } : { key: keyStore.data, cert: keyStore.data };
  if (keyStore.password !== null) out.passphrase = keyStore.password;
  if (trustStore !== null) out.ca = trustStore;
  return out;
}

/** What a session worker needs to serve secureClientPort. */
export interface ClientTlsInit {
  /** Key, certificate and CAs (reloaded with TlsReloadMessage). */
  readonly keys: TlsKeyOptions;
  /** ssl.clientAuth: need = a trusted certificate or no connection; want = one is asked for,
   *  and an untrusted one closes the connection; none = none is asked for. */
  readonly clientAuth: 'none' | 'want' | 'need';
  readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list; null: Node's default. */
  readonly ciphers: string | null;
  /** X509AuthenticationProvider.superUser: this subject DN also gets the super id. */
  readonly x509SuperUser: string | null;
}

/** Counters of the TLS port, shared by every worker (Int32 cells, Atomics): mntr reads them. */
export const TlsCounter = {
  /** ZooKeeper's unsuccessful_handshake (ServerMetrics): a handshake that failed or timed out,
   *  or a certificate the trust store refused. */
  unsuccessfulHandshakes: 0,
  /** zkts: of those, handshakes that did not finish within clientTlsHandshakeTimeoutMs. */
  handshakeTimeouts: 1,
  /** zkts: TLS connections established. */
  handshakes: 2,
  cells: 3,
} as const;

export function createTlsCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(TlsCounter.cells * 4);
}
