// What the parsed zoo.cfg means to the quorum transport: this member's listening address, its
// peers' addresses, the quorum secret and TLS, and the frame and send-queue bounds. Pure: no I/O.

import { tlsKeyOptions } from '../../shm/tls.js';
import type { ServerConfig } from '../config.js';
import { quorumFrameBytesMax, type PeerAddress, type QuorumTlsOptions, type QuorumTransportOptions, type TransportLogger } from '../net/transport.js';
import { quorumSendQueueBytesMin } from './limits.js';

/** zoo.cfg's sslQuorum key material as the transport's TLS options (null: plain TCP). */
export function quorumTlsOptions(cfg: ServerConfig): QuorumTlsOptions | null {
  const t = cfg.quorumTls;
  if (t === null) return null;
  return { context: tlsKeyOptions(t.keyStore, t.trustStore), hostnameVerification: t.hostnameVerification };
}

/**
 * The transport's options for member `myId` (the electionPort is unused: zkts elects over the
 * quorum connection); throws if zoo.cfg has no server line for it.
 */
export function quorumTransportOptions(cfg: ServerConfig, myId: number, logger: TransportLogger): QuorumTransportOptions {
  const me = cfg.servers.find((s) => s.id === myId);
  if (me === undefined) throw new Error(`myid ${myId} has no server.${myId} line`);
  const peers = new Map<number, PeerAddress>();
  for (const s of cfg.servers) peers.set(s.id, { host: s.host, port: s.quorumPort });
  const frameBytesMax = quorumFrameBytesMax(cfg.juteMaxBufferBytes);
  return {
    myId,
    peers,
    listenHost: me.host,
    listenPort: me.quorumPort,
    logger,
    secret: cfg.quorumSecret === null ? null : Buffer.from(cfg.quorumSecret, 'utf8'),
    tls: quorumTlsOptions(cfg),
    frameBytesMax,
    sendQueueBytesMax: Math.max(2 * frameBytesMax, quorumSendQueueBytesMin),
  };
}
