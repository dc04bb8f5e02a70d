// What the pipeline needs to know about the session a request came from. The driver owns the
// session table; it may reuse one RequestContext object for every request (nothing here keeps it).

import type { Id } from '../../protocol/types.js';

export interface RequestContext {
  /** The session id, as the session table spells it (signed or unsigned: both are accepted). */
  sessionId: bigint;
  cxid: number;
  /** The connection's authenticated ids: ip first, then what auth packets added (ServerCnxn
   *  authInfo). A `super` id grants everything. */
  authIds: readonly Id[];
  /** A local session: it may not create ephemerals (EphemeralOnLocalSession) and has no session
   *  transactions. The driver upgrades a session before prepare when upgrading is enabled. */
  isLocalSession: boolean;
}
