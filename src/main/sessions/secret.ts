// The ensemble's session secret: the key of the HMAC that session passwords are
// (workers/session/handshake.ts). An operator may set it (`sessionSecret`); otherwise it lives in
// the replicated state, as the data of /zookeeper, so that every member has the same one and keeps
// it across restarts with no file of its own and no change to the quorum protocol or to Apache's
// snapshot and log formats:
//
// - the first leader of an ensemble (a standalone server at its first start) finds /zookeeper
//   without one and writes it with an ordinary setData txn as the server itself (session 0);
//   learners get it by DIFF, SNAP or commit, like any txn, and every member recovers it from its
//   snapshot and log;
// - no client reads it: getData of /zookeeper (alone or in a multiRead) answers empty data, as
//   ZooKeeper's /zookeeper has; and no client writes it: setData of /zookeeper, alone or in a
//   multi, is refused with NoAuth whatever the client's ids (super included), so nobody can set
//   a secret they know. exists/getACL show only its stat and ACL.
//
// The main thread watches /zookeeper's mzxid after each applied txn (one map lookup) and hands a
// new secret to the session workers by postMessage; a worker that has none yet holds connects
// until it arrives (workers/server.ts).

import { randomBytes } from 'node:crypto';
import { ZkPaths } from '../../common/zk.js';
import type { DataTree } from '../tree/data-tree.js';

/** The node whose data holds the secret. */
export const sessionSecretPath = ZkPaths.zookeeper;

/** Random bytes in a made secret (256 bits: HMAC-SHA256's key size). */
export const sessionSecretRandomBytes = 32;

/** Marks /zookeeper's data as a secret zkts made (and its format, should it ever change). */
const secretPrefix = 'zkts-session-secret:v1:';
const secretPattern = /^zkts-session-secret:v1:([0-9a-f]{64})$/;

/** The data of a new secret: the prefix and 32 random bytes in hex. */
export function newSessionSecretData(): Uint8Array {
  return Buffer.from(secretPrefix + randomBytes(sessionSecretRandomBytes).toString('hex'), 'utf8');
}

/** The secret in /zookeeper's data, or null when it holds none (an empty or foreign value). */
export function sessionSecretOf(data: Uint8Array | null): string | null {
  if (data === null || data.length !== secretPrefix.length + 2 * sessionSecretRandomBytes) return null;
  const m = secretPattern.exec(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'));
  return m === null ? null : (m[1] ?? null);
}

/** The secret the tree holds now, or null. */
export function treeSessionSecret(tree: DataTree): string | null {
  return sessionSecretOf(tree.getNode(sessionSecretPath)?.data ?? null);
}

const emptyData = new Uint8Array(0);

/** What a client reads as the data of `path`: /zookeeper's is never shown. */
export function clientVisibleData(path: string, data: Uint8Array | null): Uint8Array | null {
  return path === sessionSecretPath ? emptyData : data;
}

/** Whether a client's write sets the data of the node that holds the secret. */
export function isSessionSecretWrite(path: string): boolean {
  return path === sessionSecretPath;
}

/**
 * The secret this server uses: the configured one, else the tree's (followed after each applied
 * txn: `update` returns true when it changed, and costs one lookup when /zookeeper did not).
 */
export class SessionSecretTracker {
  #current: string;
  #seenMzxid = -1;

  constructor(
    private readonly configured: string,
    tree: DataTree,
  ) {
    this.#current = configured;
    this.update(tree);
  }

  /** '' while none is known (an ensemble whose first leader has not written it yet). */
  get current(): string {
    return this.#current;
  }

  get isConfigured(): boolean {
    return this.configured !== '';
  }

  update(tree: DataTree): boolean {
    if (this.configured !== '') return false;
    const node = tree.getNode(sessionSecretPath);
    if (node === undefined || node.mzxid === this.#seenMzxid) return false;
    this.#seenMzxid = node.mzxid;
    const secret = sessionSecretOf(node.data);
    if (secret === null || secret === this.#current) return false;
    this.#current = secret;
    return true;
  }
}
