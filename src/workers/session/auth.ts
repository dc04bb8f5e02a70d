// Authentication the worker answers itself (ZooKeeperServer.processPacket handles OpCode.auth on
// the I/O thread, outside the request pipeline): the `digest` and `ip` providers that ZooKeeper
// registers by default, and whoAmI (AuthUtil.getClientInfos) over the connection's ids.

import { createHash } from 'node:crypto';
import type { JuteWriter } from '../../protocol/jute/index.js';

/** DigestAuthenticationProvider.generateDigest:
 *  "user:password" → "user:base64(sha1(user:password))". */
export function digestId(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

/** ServerAuthenticationProvider.getUserName: digest → the user part; ip → the address. */
export function authUser(scheme: string, id: string): string {
  if (scheme === 'digest') {
    const colon = id.indexOf(':');
    return colon < 0 ? id : id.slice(0, colon);
  }
  return id;
}

/** java.lang.String.hashCode. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The jute-generated org.apache.zookeeper.data.Id.hashCode. */
function javaIdHash(scheme: string, id: string): number {
  let r = 17;
  r = (Math.imul(37, r) + javaStringHash(scheme)) | 0;
  return (Math.imul(37, r) + javaStringHash(id)) | 0;
}

/**
 * The ids in the order ZooKeeper lists them: ServerCnxn.authInfo is a set backed by a
 * ConcurrentHashMap, which iterates by bin (spread(hash) & (n - 1), n = 16 until 12 entries,
 * doubling after) and, within a bin, in insertion order. whoAmI (AuthUtil.getClientInfos) and
 * clients printing it (zkCli whoami) show that order.
 */
export interface AuthId {
  scheme: string;
  id: string;
}

export function javaAuthOrder(ids: readonly AuthId[]): AuthId[] {
  let n = 16;
  while (ids.length >= (n * 3) / 4) n *= 2;
  const bin = (x: AuthId): number => {
    const h = javaIdHash(x.scheme, x.id);
    return ((h ^ (h >>> 16)) & 0x7fffffff) & (n - 1);
  };
  return ids
    .map((x, i) => ({ x, i, b: bin(x) }))
    .sort((a, b) => a.b - b.b || a.i - b.i)
    .map((e) => e.x);
}

/** WhoAmIResponse body: vector<ClientInfo{authScheme, user}>, in ZooKeeper's set order. */
export function encodeWhoAmI(w: JuteWriter, ip: string, digestIds: Iterable<string>, x509Dn: string | null = null): void {
  const digests = Array.from(digestIds, (id) => ({ scheme: 'digest', id }));
  const x509 = x509Dn === null ? [] : [{ scheme: 'x509', id: x509Dn }];
  const ids = javaAuthOrder([{ scheme: 'ip', id: ip }, ...x509, ...digests]);
  w.writeInt(ids.length);
  for (const { scheme, id } of ids) {
    w.writeString(scheme);
    w.writeString(authUser(scheme, id));
  }
}
