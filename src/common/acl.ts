// ACLs as ZooKeeper 3.8 checks and normalises them: ZooKeeperServer.checkACL, PrepRequestProcessor
// .fixupACL / removeDuplicates, and the built-in authentication providers' isValid / matches /
// isAuthenticated (server/auth/{IPAuthenticationProvider,DigestAuthenticationProvider}.java).
// The digest hash itself (SHA-1) needs node:crypto and lives in src/workers/session/auth.ts; this
// leaf stays free of node:*. Id and ACL are declared here, once; protocol/types.ts re-exports them.

import { aclEntriesMax, ipParseCacheEntriesMax } from './limits.js';
import { Err, Perms } from './zk.js';

export interface Id {
  scheme: string;
  id: string;
}
export interface ACL {
  perms: number;
  id: Id;
}

/** ZooDefs.Ids */
export const anyoneId: Readonly<Id> = Object.freeze({ scheme: 'world', id: 'anyone' });
/** ZooDefs.Ids.OPEN_ACL_UNSAFE: world:anyone with every permission. */
export const openAclUnsafe: readonly ACL[] = Object.freeze([
  Object.freeze({ perms: Perms.all, id: anyoneId }),
]);
/** ZooDefs.Ids.READ_ACL_UNSAFE: world:anyone may read (the ACL of /zookeeper/config). */
export const readAclUnsafe: readonly ACL[] = Object.freeze([
  Object.freeze({ perms: Perms.read, id: anyoneId }),
]);

/**
 * What ZooKeeper's ServerAuthenticationProvider contributes to ACL handling. Only `ip` and
 * `digest` are registered by default (ProviderRegistry); other schemes (sasl, x509) exist only when
 * configured, and an ACL naming an unregistered scheme is invalid.
 */
export interface AuthProvider {
  /** An ACL id of this scheme is well formed (fixupACL rejects the ACL otherwise). */
  isValid(aclId: string): boolean;
  /** A client's authenticated id satisfies the ACL's id. */
  matches(clientId: string, aclId: string): boolean;
  /** Ids of this scheme stand for an authenticated identity: the `auth` scheme expands to them. */
  readonly isAuthenticated: boolean;
}

/** DigestAuthenticationProvider: ids are "user:base64(sha1(user:password))", matched exactly. */
export const digestProvider: AuthProvider = {
  isValid: (aclId) => javaSplitCount(aclId, 0x3a) === 2, // id.split(":").length == 2
  matches: (clientId, aclId) => clientId === aclId,
  isAuthenticated: true,
};

/** IPAuthenticationProvider: "addr" or "addr/bits"; clients match by address under the mask. */
export const ipProvider: AuthProvider = {
  isValid: (aclId) => parseIpAcl(aclId) !== null,
  matches: ipMatches,
  isAuthenticated: false,
};

/**
 * X509AuthenticationProvider (registered with secureClientPort): the id is the client
 * certificate's subject DN as X500Principal.getName() writes it, set by the TLS handshake;
 * matched exactly, except that the superUser DN (zookeeper.X509AuthenticationProvider.superUser)
 * matches every x509 ACL. isValid: a DN (`new X500Principal(id)` parses): RDNs type=value,
 * comma-separated.
 */
export function x509Provider(superUser: string | null): AuthProvider {
  return {
    isValid: isDistinguishedName,
    matches: (clientId, aclId) => clientId === aclId || (superUser !== null && clientId === superUser),
    isAuthenticated: true,
  };
}

/** RFC 2253 enough for isValid: non-empty RDNs of attribute=value split at unescaped commas. */
function isDistinguishedName(id: string): boolean {
  if (id.trim() === '') return false;
  let rdn = '';
  for (let i = 0; i <= id.length; i++) {
    const ch = id[i];
    if (ch === '\\' && i + 1 < id.length) {
      rdn += ch + id[++i];
      continue;
    }
    if (ch === ',' || ch === ';' || ch === undefined) {
      const eq = rdn.indexOf('=');
      if (eq <= 0 || rdn.slice(0, eq).trim() === '') return false;
      rdn = '';
      continue;
    }
    rdn += ch;
  }
  return true;
}

/**
 * How an x509 ACL id travels among EventReaders.digestIds (the worker matches it against its
 * connections' certificate subjects). A digest id is "user:<base64 sha1>", which no NUL-led key
 * of this form can equal without a SHA-1 preimage.
 */
export function x509ReaderId(dn: string): string {
  return `\u0000x509:${dn}`;
}

export type AuthProviders = ReadonlyMap<string, AuthProvider>;

/** ProviderRegistry with its default registrations. */
export const defaultAuthProviders: AuthProviders = new Map([
  ['ip', ipProvider],
  ['digest', digestProvider],
]);

/**
 * ZooKeeperServer.checkACL: may a client holding `authIds` use `perm` on a node with `acl`?
 * An empty ACL lets everyone in; a `super` id lets its holder do anything; otherwise some entry
 * granting a bit of `perm` must be world:anyone or match one of the client's ids of its scheme.
 */
export function checkAcl(
  acl: readonly ACL[],
  perm: number,
  authIds: readonly Id[],
  providers: AuthProviders = defaultAuthProviders,
): boolean {
  if (acl.length === 0) return true;
  for (let i = 0; i < authIds.length; i++) {
    if (authIds[i]?.scheme === 'super') return true;
  }
  for (let i = 0; i < acl.length; i++) {
    const a = acl[i];
    if (a === undefined || (a.perms & perm) === 0) continue;
    const id = a.id;
    if (id.scheme === 'world' && id.id === 'anyone') return true;
    const provider = providers.get(id.scheme);
    if (provider === undefined) continue;
    for (let j = 0; j < authIds.length; j++) {
      const authId = authIds[j];
      if (
        authId !== undefined &&
        authId.scheme === id.scheme &&
        provider.matches(authId.id, id.id)
      ) {
        return true;
      }
    }
  }
  return false;
}

export function idEquals(a: Id, b: Id): boolean {
  return a.scheme === b.scheme && a.id === b.id;
}
export function aclEquals(a: ACL, b: ACL): boolean {
  return a.perms === b.perms && idEquals(a.id, b.id);
}

/** PrepRequestProcessor.removeDuplicates: first occurrence wins, order kept. O(n) through a set
 *  of entry keys (ZooKeeper's list scan is O(n^2): 40,000 entries held a thread for seconds). */
export function removeDuplicateAcls(acls: readonly ACL[]): ACL[] {
  const seen = new Set<string>();
  const out: ACL[] = [];
  for (const a of acls) {
    const key = `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(a);
  }
  return out;
}

/** The result of fixupAcl: Err.ok with the ACL to store, or Err.invalidACL with null. */
export interface FixedAcl {
  err: number;
  acl: ACL[] | null;
}

/**
 * PrepRequestProcessor.fixupACL, run on create and setACL: drops duplicates, rejects an empty
 * list, keeps world:anyone, expands `auth` into one entry per authenticated id of the client
 * (InvalidACL if it has none: ip ids do not count), and keeps any other entry whose scheme is
 * registered and whose id that scheme accepts. Everything else is InvalidACL.
 *
 * zkts also refuses (InvalidACL) a list of more than aclEntriesMax entries, before looking at any
 * of them, and one that grows past it when `auth` expands; ZooKeeper bounds neither.
 */
export function fixupAcl(
  acls: readonly ACL[],
  authIds: readonly Id[],
  providers: AuthProviders = defaultAuthProviders,
): FixedAcl {
  if (acls.length > aclEntriesMax) return { err: Err.invalidACL, acl: null };
  const unique = removeDuplicateAcls(acls);
  if (unique.length === 0) return { err: Err.invalidACL, acl: null };
  const out: ACL[] = [];
  for (const a of unique) {
    const id = a.id;
    if (id.scheme === 'world' && id.id === 'anyone') {
      out.push(a);
    } else if (id.scheme === 'auth') {
      let expanded = false;
      for (const authId of authIds) {
        // A scheme with no provider (`super`) is skipped, as ZooKeeper logs and skips it.
        if (providers.get(authId.scheme)?.isAuthenticated === true) {
          expanded = true;
          out.push({ perms: a.perms, id: authId });
        }
      }
      if (!expanded) return { err: Err.invalidACL, acl: null };
    } else {
      const provider = providers.get(id.scheme);
      if (provider === undefined || !provider.isValid(id.id))
        return { err: Err.invalidACL, acl: null };
      out.push(a);
    }
    if (out.length > aclEntriesMax) return { err: Err.invalidACL, acl: null };
  }
  return { err: Err.ok, acl: out };
}

/**
 * The ACL getACL returns to a client without ADMIN on the node (FinalRequestProcessor): digest
 * ids lose their hash, `id.replaceAll(":.*", ":x")`.
 */
export function maskDigestAcl(acl: readonly ACL[]): ACL[] {
  const out: ACL[] = [];
  for (const a of acl) {
    const colon = a.id.id.indexOf(':');
    if (a.id.scheme === 'digest' && colon >= 0) {
      out.push({ perms: a.perms, id: { scheme: 'digest', id: a.id.id.slice(0, colon) + ':x' } });
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * How many strings Java's `s.split(regexOfOneChar)` returns: trailing empty strings are dropped,
 * and a string with no separator is returned whole (so "" gives 1).
 */
function javaSplitCount(s: string, separator: number): number {
  let parts = 1;
  let lastNonEmpty = 0; // number of parts up to and including the last non-empty one
  let partLength = 0;
  let found = false;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === separator) {
      found = true;
      if (partLength > 0) lastNonEmpty = parts;
      parts++;
      partLength = 0;
    } else {
      partLength++;
    }
  }
  if (!found) return 1;
  if (partLength > 0) lastNonEmpty = parts;
  return lastNonEmpty;
}

// ---- ip scheme ------------------------------------------------------------------------------

interface IpAcl {
  bytes: Uint8Array;
  bits: number;
}

/** "addr" or "addr/bits" (IPv4 dotted quad or IPv6), as IPAuthenticationProvider.isValid. */
function parseIpAcl(aclId: string): IpAcl | null {
  const slash = aclId.indexOf('/');
  const bytes = parseIpAddress(slash < 0 ? aclId : aclId.slice(0, slash));
  if (bytes === null) return null;
  let bits = bytes.length * 8;
  if (slash >= 0) {
    const parsed = parseJavaInt(aclId.slice(slash + 1));
    if (parsed === null || parsed < 0 || parsed > bytes.length * 8) return null;
    bits = parsed;
  }
  return { bytes, bits };
}

/** Parsed ip ACL ids and client addresses by their text (null: not valid), bounded by
 *  ipParseCacheEntriesMax: the same few ACLs and clients are checked again and again. */
const ipAclsParsed = new Map<string, IpAcl | null>();
const ipAddressesParsed = new Map<string, Uint8Array | null>();

function cached<T>(cache: Map<string, T | null>, text: string, parse: (text: string) => T | null): T | null {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  if (cache.size >= ipParseCacheEntriesMax) cache.clear();
  const parsed = parse(text);
  cache.set(text, parsed);
  return parsed;
}

/** IPAuthenticationProvider.matches: both addresses masked to the ACL's bits, then compared. */
function ipMatches(clientId: string, aclId: string): boolean {
  const acl = cached(ipAclsParsed, aclId, parseIpAcl);
  if (acl === null) return false;
  const client = cached(ipAddressesParsed, clientId, parseIpAddress);
  if (client === null || client.length !== acl.bytes.length) return false;
  const whole = acl.bits >>> 3;
  for (let i = 0; i < whole; i++) {
    if (client[i] !== acl.bytes[i]) return false;
  }
  const rest = acl.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((client[whole] ?? 0) & mask) === ((acl.bytes[whole] ?? 0) & mask);
}

/** Integer.parseInt: optional sign, decimal digits only, within int range. */
function parseJavaInt(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : null;
}

/** Dotted-quad IPv4 (4 bytes) or IPv6 with optional "::" and trailing dotted quad (16 bytes). */
export function parseIpAddress(addr: string): Uint8Array | null {
  return addr.includes(':') ? parseIpv6(addr) : parseIpv4(addr);
}

function parseIpv4(addr: string): Uint8Array | null {
  const parts = addr.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = parseJavaInt(parts[i] ?? '');
    if (v === null || v < 0 || v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(addr: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const zone = addr.indexOf('%'); // a scope id ("fe80::1%eth0") does not take part in matching
  const text = zone >= 0 ? addr.slice(0, zone) : addr;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = gap >= 0 ? text.slice(0, gap) : text;
  const tail = gap >= 0 ? text.slice(gap + 2) : '';
  const headGroups = parseIpv6Groups(head);
  const tailGroups = parseIpv6Groups(tail);
  if (headGroups === null || tailGroups === null) return null;
  const total = headGroups.length + tailGroups.length;
  if (gap < 0 ? total !== 16 : total > 14) return null;
  out.set(headGroups, 0);
  out.set(tailGroups, 16 - tailGroups.length);
  return out;
}

/** "a:b:c" groups as bytes; the last group may be a dotted quad. "" is no groups. */
function parseIpv6Groups(text: string): number[] | null {
  if (text === '') return [];
  const groups = text.split(':');
  const bytes: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? '';
    if (i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIpv4(g);
      if (v4 === null) return null;
      bytes.push(...v4);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      const v = parseInt(g, 16);
      bytes.push(v >>> 8, v & 0xff);
    }
  }
  return bytes;
}
