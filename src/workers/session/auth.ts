// Authentication the worker answers itself (ZooKeeperServer.processPacket handles OpCode.auth on
// the I/O thread, outside the request pipeline): the `digest` and `ip` providers that ZooKeeper
// registers by default, and whoAmI (AuthUtil.getClientInfos) over the connection's ids.

import { createHash } from 'node:crypto';
import type { JuteWriter } from '../../protocol/jute/index.js';

/** DigestAuthenticationProvider.generateDigest: "user:password" → "user:base64(sha1(user:password))". */
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

/** WhoAmIResponse body: vector<ClientInfo{authScheme, user}>, the ip id first. */
export function encodeWhoAmI(w: JuteWriter, ip: string, digestIds: readonly string[]): void {
  w.writeInt(1 + digestIds.length);
  w.writeString('ip');
  w.writeString(ip);
  for (const id of digestIds) {
    w.writeString('digest');
    w.writeString(authUser('digest', id));
  }
}
