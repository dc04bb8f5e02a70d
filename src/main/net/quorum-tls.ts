// How quorum sockets are made: plain TCP, or with quorum TLS (zoo.cfg sslQuorum) TLS with
// certificates both ways, checked against the trust store (and, when dialling, the member's host
// name unless hostnameVerification=false), as ZooKeeper's quorum TLS does.
//
// node:tls is loaded only when quorum TLS is configured (issue 11, goal 2): its modules cost an
// idle process ~1.3 MB of RSS, paid by every member of an observer tier that does not use it.

import { createRequire } from 'node:module';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { PeerAddress, TransportLogger } from './transport-options.js';

const require = createRequire(import.meta.url);
let tlsModule: typeof tls | null = null;

/** node:tls, loaded on first use. */
function tlsLib(): typeof tls {
  tlsModule ??= require('node:tls') as typeof tls;
  return tlsModule;
}

export interface QuorumTlsOptions {
  /** Our certificate and key (key + cert, or pfx + passphrase) and the trusted CAs (ca). */
  readonly context: tls.SecureContextOptions;
  /** A dialled member's certificate must name the host of its server.N line. */
  readonly hostnameVerification: boolean;
}

/** The quorum listener; a TLS one requires a trusted client certificate within handshakeTimeoutMs. */
export function quorumServer(o: {
  tls: QuorumTlsOptions | null;
  handshakeTimeoutMs: number;
  logger: TransportLogger;
  accepted: (socket: net.Socket) => void;
}): net.Server {
  const t = o.tls;
  const server =
    t === null
      ? net.createServer({ noDelay: true }, (socket) => o.accepted(socket))
      : tlsLib().createServer({ ...t.context, requestCert: true, rejectUnauthorized: true, handshakeTimeout: o.handshakeTimeoutMs }, (socket) => o.accepted(socket));
  if (t !== null) {
    server.on('tlsClientError', (err, socket) => {
      o.logger.warn({ remote: socket.remoteAddress, err: err.message }, 'quorum TLS handshake refused');
    });
  }
  return server;
}

/** Dials a member; the socket is ready for our Hello on its quorumReadyEvent. */
export function quorumDial(t: QuorumTlsOptions | null, address: PeerAddress): net.Socket {
  const { host, port } = address;
  return t === null
    ? net.connect({ host, port })
    : tlsLib().connect({
        host,
        port,
        ...t.context,
        rejectUnauthorized: true,
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        checkServerIdentity: t.hostnameVerification ? tlsLib().checkServerIdentity : () => undefined,
      });
}

export function quorumReadyEvent(t: QuorumTlsOptions | null): 'connect' | 'secureConnect' {
  return t === null ? 'connect' : 'secureConnect';
}
