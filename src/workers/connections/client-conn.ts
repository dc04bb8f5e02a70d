// A client connection as the session worker keeps it: the transport (conn.ts) plus the session
// it holds or waits for, and the four-letter request it waits on.

import type { X509Identity } from '../tls.js';
import { Conn } from '../conn.js';
import type { WorkerLog } from '../log.js';
import type { Session } from '../session/table.js';

/** A handshake waiting for its `attached` record. */
export interface PendingAttach {
  sidHi: number;
  sidLo: number;
  timeoutMs: number;
  create: boolean;
  readOnly: boolean;
  oldClient: boolean;
}

/** A connection with the session state the worker keeps beside the transport. */
export class ClientConn extends Conn {
  /** Output bytes counted in the worker's stalled total (0 while the client reads). */
  stalledBytes = 0;
  session: Session<ClientConn> | null = null;
  pending: PendingAttach | null = null;
  fourLetterReqId = 0;
  /** The client certificate's identity on secureClientPort (the x509 auth id); null otherwise. */
  x509: X509Identity | null = null;
}

export type WorkerSession = Session<ClientConn>;

/** The warning every "this client broke the protocol" close logs (then the caller closes). */
export function logProtocolError(log: WorkerLog, conn: ClientConn, message: string): void {
  const fields = { remote: conn.remote, sid: conn.session?.hex };
  log.warn(fields, `closing connection: ${message}`);
}
