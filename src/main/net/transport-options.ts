// QuorumTransport's options, events and defaults, and the frame bound an ensemble derives from
// its jute.maxbuffer (transport.ts exports them all again for its users).

import type { Msg } from '../zab/messages.js';
import type { ForwardMsg } from './codec.js';
import {
  frameBytesCeiling,
  frameBytesMaxDefault,
  frameSlackBytes,
  handshakeTimeoutMsDefault,
  reconnectDelayMsMax,
  reconnectDelayMsMin,
  sendQueueBytesMaxDefault,
  snapBytesMaxDefault,
} from './limits.js';
import type { QuorumTlsOptions } from './quorum-tls.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The subset of pino's Logger the transport uses. */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface QuorumTransportOptions {
  readonly myId: number;
  /** Every other member's quorum address (an entry for myId is ignored). */
  readonly peers: ReadonlyMap<number, PeerAddress>;
  readonly listenHost: string;
  /** 0 picks a free port (see address()). */
  readonly listenPort: number;
  /** Must match on both sides of the handshake (guards against another ensemble's peers). */
  readonly cluster?: string;
  readonly logger?: TransportLogger;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
  /** Largest frame body accepted or sent (a larger SNAP is chunked, see snap-stream.ts). */
  readonly frameBytesMax?: number;
  /** SNAP data per frame when chunked; default min(16 MiB, frameBytesMax - 1 KiB). */
  readonly snapChunkBytes?: number;
  /** Largest reassembled SNAP data accepted. */
  readonly snapBytesMax?: number;
  /** Bytes queued to one peer beyond which its connection is reset (peerDown). */
  readonly sendQueueBytesMax?: number;
  /** Time a new connection has to complete the Hello exchange. */
  readonly handshakeTimeoutMs?: number;
  /** Jitter source, in [0, 1). */
  readonly random?: () => number;
  /** The shared quorum secret (see Authentication in handshake.ts); none: unauthenticated. */
  readonly secret?: Uint8Array | null;
  /** Quorum TLS (zoo.cfg sslQuorum): both directions present certificates the `ca` vouches for. */
  readonly tls?: QuorumTlsOptions | null;
}

export interface QuorumTransportEvents {
  peerUp: [peer: number];
  peerDown: [peer: number];
  message: [from: number, msg: Msg];
  /** Request forwarding (REQUEST / REQUESTERROR), in order with the Zab messages. */
  forward: [from: number, msg: ForwardMsg];
}

export const transportDefaults = {
  cluster: 'zkts',
  reconnectDelayMsMin,
  reconnectDelayMsMax,
  frameBytesMax: frameBytesMaxDefault,
  sendQueueBytesMax: sendQueueBytesMaxDefault,
  handshakeTimeoutMs: handshakeTimeoutMsDefault,
  snapBytesMax: snapBytesMaxDefault,
} as const;

/**
 * The frame bound for an ensemble whose jute.maxbuffer is `juteMaxBufferBytes`: whatever is
 * legal must be sendable, and a PROPOSAL (a txn) or a REQUEST (a client packet plus its auth
 * ids) carries at most about one client packet, so twice that plus 1 MiB; never below the
 * default, never above what a FlatBuffers builder can hold (2 GiB).
 */
export function quorumFrameBytesMax(juteMaxBufferBytes: number): number {
  const wanted = Math.max(transportDefaults.frameBytesMax, 2 * juteMaxBufferBytes + frameSlackBytes);
  return Math.min(wanted, frameBytesCeiling);
}
