// Bounds on what one client request or one session may make a thread do, shared by both threads
// (the worker answers auth, the main thread checks ACLs) and the quorum codec (a learner forwards
// a session's auth ids with its writes). Units last; relations asserted at load.
//
// ZooKeeper has none of these bounds (only jute.maxbuffer); zkts adds them so that no single
// request costs more than a bounded amount of work on a thread that serves everyone.

import { assert } from './assert.js';

/** ACL entries one create / createTTL / createContainer / setACL may carry (also inside a
 *  multi). More is InvalidACL. A real ACL has a handful; 1 MiB of jute could carry ~80,000. */
export const aclEntriesMax = 1024;

/** Authenticated ids (the digest ids added by auth packets) one session may hold on one
 *  connection. One more is answered AuthFailed and the connection closes, as ZooKeeper does for
 *  an auth it refuses. The connection's ip id is not counted here. */
export const authIdsPerSessionMax = 32;

/** Characters of one auth id (scheme or id) a session may hold; a longer one is AuthFailed. */
export const authIdCharsMax = 1024;

/** Auth ids one forwarded request may carry on the quorum link: the session's, plus its ip id. */
export const forwardAuthIdsMax = 64;

/** Parsed ip addresses and ip ACL ids kept for reuse by the ACL check (acl.ts): a node's ACL of
 *  aclEntriesMax ip entries is checked on every read of it, and parsing each entry each time
 *  cost ~0.6 ms a check. Past the bound the cache starts over. */
export const ipParseCacheEntriesMax = 16 * 1024;

assert(ipParseCacheEntriesMax >= 2 * aclEntriesMax, 'limits: the ip parse cache holds one full ACL and its clients');
assert(authIdsPerSessionMax + 1 <= forwardAuthIdsMax, 'limits: a session\'s auth ids must fit a forwarded request');
assert(aclEntriesMax > 0 && authIdsPerSessionMax > 0 && authIdCharsMax > 0, 'limits: bounds must be positive');
