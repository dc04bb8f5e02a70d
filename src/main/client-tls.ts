// secureClientPort on the main thread: the TLS settings handed to the session workers (which run
// the handshakes, src/workers/tls.ts), and the certificate reload (client.certReload).

import type { ClientTlsInit, TlsKeyOptions } from '../shm/tls.js';
import { tlsKeyOptions } from '../shm/tls.js';
import type { ServerConfig } from './config.js';
import type { ClientTlsConfig } from './config-tls.js';

/** The key options of the configured (or reloaded) stores. */
export function clientTlsKeys(t: Pick<ClientTlsConfig, 'keyStore' | 'trustStore'>): TlsKeyOptions {
  return tlsKeyOptions(t.keyStore, t.trustStore?.data ?? null);
}

/** WorkerInit.tls; null without secureClientPort. */
export function clientTlsInit(cfg: ServerConfig): ClientTlsInit | null {
  const t = cfg.clientTls;
  if (t === null) return null;
  return {
    keys: clientTlsKeys(t),
    clientAuth: t.clientAuth,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ciphers: t.ciphers,
    x509SuperUser: t.x509SuperUser,
  };
}
