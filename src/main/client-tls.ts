// secureClientPort on the main thread: the TLS settings handed to the session workers (which run
// the handshakes, src/workers/tls.ts), and the certificate reload (client.certReload).

import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { ClientTlsInit, TlsKeyOptions } from '../shm/tls.js';
import { tlsKeyOptions } from '../shm/tls.js';
import type { ServerConfig } from './config.js';
import { type ClientTlsConfig, rereadStore, rereadTrustStore, type TlsStore } from './config-tls.js';
import { certReloadQuietMs } from './limits.js';

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

/** The certificate reload's view of the logger. */
interface ReloadLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * client.certReload (ZooKeeper 3.8.1+: X509Util's FileChangeWatcher on the key and trust store
 * files, zookeeper.client.certReload): when either file changes (written in place, or replaced by
 * a rename in its directory), both are read again once they have been quiet for
 * certReloadQuietMs, and `reload` gets the new key options (the workers' handshakes from then on
 * use them; connections already up keep theirs). A file that cannot be read is logged and the
 * stores in use stay. Returns a stop function.
 */
export function watchClientTlsStores(t: ClientTlsConfig, log: ReloadLogger, reload: (keys: TlsKeyOptions) => void): () => void {
  const stores = [t.keyStore, ...(t.trustStore === null ? [] : [t.trustStore])];
  let timer: NodeJS.Timeout | null = null;
  const fire = (): void => {
    timer = null;
    let keyStore: TlsStore;
    let trustStore: TlsStore | null;
    try {
      keyStore = rereadStore(t.keyStore);
      trustStore = t.trustStore === null ? null : rereadTrustStore(t.trustStore);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'client.certReload: cannot read the key or trust store; keeping the ones in use');
      return;
    }
    log.info({ keyStore: keyStore.path, trustStore: trustStore?.path ?? null }, 'client.certReload: key and trust stores changed, reloading');
    reload(clientTlsKeys({ keyStore, trustStore }));
  };
  const watchers = [...new Set(stores.map((s) => dirname(s.path)))].map((dir) => {
    const names = new Set(stores.filter((s) => dirname(s.path) === dir).map((s) => basename(s.path)));
    return watch(dir, { persistent: false }, (_event, name) => {
      if (name !== null && !names.has(String(name))) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(fire, certReloadQuietMs);
      timer.unref();
    });
  });
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
