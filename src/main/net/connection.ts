// One quorum socket's state (Connection) and one peer's link (its kept connection, its dial and
// redial timer): the records QuorumTransport, its handshake and its snapshot streams share.

import type * as net from 'node:net';
import type { PeerAddress } from './transport-options.js';
import type { FrameReader } from '../../protocol/frame-reader.js';
import type { SnapStream } from './snap-stream.js';

/** handshake: waiting for the other side's Hello; proof: an acceptor waiting for the dialler's MAC. */
export type ConnectionState = 'handshake' | 'proof' | 'nudge' | 'open' | 'closed';

export class Connection {
  state: ConnectionState = 'handshake';
  corked = false;
  handshakeTimer: NodeJS.Timeout | null = null;
  /** A chunked SNAP being sent on this connection. */
  snapOut: SnapStream | null = null;
  /** SnapChunk pieces received so far, and their total size. */
  snapIn: Uint8Array[] | null = null;
  snapInBytes = 0;
  /** Our challenge on this connection, and the other side's (quorum secret only). */
  nonce: Uint8Array = new Uint8Array(0);
  peerNonce: Uint8Array = new Uint8Array(0);

  readonly socket: net.Socket;
  readonly outbound: boolean;
  /** The peer's id: known up front when we dial, from its Hello when it dials us. */
  peer: number;
  readonly reader: FrameReader;

  constructor(o: { socket: net.Socket; outbound: boolean; peer: number; reader: FrameReader }) {
    this.socket = o.socket;
    this.outbound = o.outbound;
    this.peer = o.peer;
    this.reader = o.reader;
  }
}

export interface Link {
  readonly id: number;
  readonly address: PeerAddress;
  /** The one kept connection, once its handshake is done. */
  open: Connection | null;
  /** Our dial (or nudge) in progress. */
  dial: Connection | null;
  reconnectTimer: NodeJS.Timeout | null;
  attempts: number;
}

export function isOpen(conn: Connection): boolean {
  return conn.state === 'open';
}
