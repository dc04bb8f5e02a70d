// The server side of the `auth` packet (opcode 100) for ZooKeeper's built-in schemes, kept out of
// src/common because the digest scheme needs SHA-1 from node:crypto.
// DigestAuthenticationProvider: "user:password" -> id "user:base64(sha1(user:password))", plus
// the id super:"" when that digest equals the configured superDigest
// (zookeeper.DigestAuthenticationProvider.superDigest). IPAuthenticationProvider: the client's
// address. Any other scheme fails (AuthFailed; ZooKeeper then closes the connection).

import { createHash } from 'node:crypto';
import { Err } from '../common/zk.js';
import type { Id } from '../protocol/types.js';

/** DigestAuthenticationProvider.generateDigest: "user:pw" -> "user:" + base64(sha1("user:pw")). */
export function generateDigest(idPassword: string): string {
  const colon = idPassword.indexOf(':');
  const user = colon < 0 ? idPassword : idPassword.slice(0, colon);
  const hash = createHash('sha1').update(idPassword, 'utf8').digest('base64');
  return `${user}:${hash}`;
}

export interface AuthOutcome {
  /** Err.ok or Err.authFailed. */
  err: number;
  /** Ids to add to the connection's auth info, in ZooKeeper's order (super first). */
  ids: Id[];
}

export interface AuthOptions {
  /** "super:<base64 sha1>", as zookeeper.DigestAuthenticationProvider.superDigest; null: none. */
  superDigest: string | null;
  /** The client's address as ZooKeeper writes it (InetAddress.getHostAddress). */
  remoteIp: string;
}

/** What an auth packet adds to a connection (ProviderRegistry → handleAuthentication). */
export function authenticate(scheme: string, auth: Uint8Array, opts: AuthOptions): AuthOutcome {
  if (scheme === 'digest') {
    // new String(authData): the platform charset, UTF-8 on every supported JVM.
    const digest = generateDigest(
      Buffer.from(auth.buffer, auth.byteOffset, auth.length).toString('utf8'),
    );
    const ids: Id[] = [];
    if (opts.superDigest !== null && digest === opts.superDigest)
      ids.push({ scheme: 'super', id: '' });
    ids.push({ scheme: 'digest', id: digest });
    return { err: Err.ok, ids };
  }
  if (scheme === 'ip') return { err: Err.ok, ids: [{ scheme: 'ip', id: opts.remoteIp }] };
  return { err: Err.authFailed, ids: [] };
}
