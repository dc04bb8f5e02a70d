// The worker's half of the READ filter on watch events (CVE-2024-23944): may a session see an
// event whose readers the main thread worked out from the node's ACL (src/main/watches/readers.ts)?
// The same answer as ZooKeeperServer.checkACL(READ) for the ids a connection holds: the super id
// passes, a digest id must equal an ACL's id, the connection's address must fall in an ip ACL.

import { ipProvider, x509ReaderId } from '../../common/acl.js';
import type { EventReaders } from '../../shm/records.js';

/**
 * `superUser`: the session authenticated with the superDigest; `digestIds`: its digest ids;
 * `ip`: its connection's address (its ip id); `x509Dn`: its connection's client certificate subject.
 */
export function mayRead(
  readers: EventReaders,
  superUser: boolean,
  digestIds: ReadonlySet<string>,
  ip: string,
  x509Dn: string | null = null,
): boolean {
  if (superUser) return true;
  const digests = readers.digestIds;
  if (x509Dn !== null && digests.length > 0) {
    const key = x509ReaderId(x509Dn);
    for (let i = 0; i < digests.length; i++) {
      if (digests[i] === key) return true;
    }
  }
  if (digests.length > 0 && digestIds.size > 0) {
    for (let i = 0; i < digests.length; i++) {
      if (digestIds.has(digests[i]!)) return true;
    }
  }
  const ips = readers.ipIds;
  for (let i = 0; i < ips.length; i++) {
    if (ipProvider.matches(ip, ips[i]!)) return true;
  }
  return false;
}
