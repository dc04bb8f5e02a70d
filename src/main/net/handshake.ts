// The quorum Hello handshake: who a new connection is (cluster, ids, nudges) and, with a quorum
// secret, the HMAC challenge-response that proves both ends know it. QuorumTransport runs it
// through a HandshakeHost (its links and connection effects) until the connection opens.
//
// Authentication. Without a quorum secret (zoo.cfg quorum.secret / quorum.secretFile) peers are
// trusted by the id in their Hello, as ZooKeeper's quorum is without SASL or TLS; the start-up
// log says so. With one, every connection proves both ends know it, by HMAC-SHA256
// challenge-response inside the Hello exchange (three Hellos instead of two):
//   dialler D -> A: Hello{D, A, nonce Nd}
//   acceptor A -> D: Hello{A, A->D, nonce Na, mac = HMAC(secret, "accept", cluster, A, D, Nd, Na)}
//   D -> A:         Hello{D, A, mac = HMAC(secret, "dial", cluster, D, A, Na, Nd)}
// Each side's MAC covers the other side's fresh nonce, so a recorded Hello replayed on a new
// connection fails; both ids and the direction are inside the MAC, so it is bound to who says
// it and cannot be reflected. A connects only after D's proof, so a connection that claims the
// id of a connected peer replaces that peer's link only once it has authenticated. A nudge
// (transport.ts) needs no proof: it only makes us dial the configured address, which then proves
// itself.
// With quorum TLS (zoo.cfg sslQuorum, ssl.quorum.*) every connection is TLS with certificates
// both ways, checked against the trust store (and, when dialling, the member's host name unless
// hostnameVerification=false), as ZooKeeper's quorum TLS does; a secret may be set as well.
// Either way, until a connection is open its frames are bounded by handshakeFrameBytesMax (a
// Hello is ~100 bytes), the Hello must come from a server.N id, and at most
// handshakesInboundMax inbound connections may be in their handshake at once (transport.ts
// enforces these bounds and the handshake timeout).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { assert } from '../../common/assert.js';
import { encodeHelloFrame, type Hello } from './codec.js';
import { type Connection, type Link, isOpen } from './connection.js';
import type { TransportLogger } from './transport-options.js';

/** Bytes of a Hello challenge. */
const nonceBytes = 16;
const macLabel = 'zkts-quorum-hello-v1';

/** What the handshake needs of QuorumTransport: who we are, the links, and its connection effects. */
export interface HandshakeHost {
  readonly myId: number;
  readonly cluster: string;
  readonly secret: Uint8Array | null;
  readonly logger: TransportLogger;
  readonly links: ReadonlyMap<number, Link>;
  /** Logs problem and closes conn; false. */
  refuse(conn: Connection, problem: string): false;
  write(conn: Connection, frame: Buffer): void;
  destroy(conn: Connection): void;
  /** Dials link's peer now, unless connected or already dialling. */
  connect(link: Link): void;
  /** Ends link's open connection now, reporting peerDown. */
  retire(conn: Connection, why: string): void;
  /** conn is link's one open connection: peerUp. */
  opened(link: Link, conn: Connection): void;
}

/** Our dial to link has connected: send our Hello (with a challenge under a secret). */
export function sendDialHello(host: HandshakeHost, conn: Connection, link: Link): void {
  conn.nonce = host.secret === null ? new Uint8Array(0) : randomBytes(nonceBytes);
  const hello = { cluster: host.cluster, sender: host.myId, receiver: link.id, nonce: conn.nonce, mac: new Uint8Array(0) };
  conn.socket.write(encodeHelloFrame(hello));
  if (link.id > host.myId) {
    // The larger sid keeps only its own dial: ours is a nudge that asks it to dial back.
    conn.state = 'nudge';
    conn.socket.end();
  }
}

/** A Hello on a connection still in its handshake; returns false once the connection is closed. */
export function helloFrame(host: HandshakeHost, conn: Connection, hello: Hello): boolean {
  if (conn.state === 'proof') return proofIn(host, conn, hello);
  return conn.outbound ? helloReply(host, conn, hello) : helloIn(host, conn, hello);
}

function checkHello(host: HandshakeHost, hello: Hello): string | null {
  if (hello.cluster !== host.cluster) return `cluster ${JSON.stringify(hello.cluster)}`;
  if (hello.receiver !== host.myId) return `Hello meant for server ${hello.receiver}`;
  if (hello.sender === host.myId) return 'Hello from our own id (ZOOKEEPER-2164)';
  if (!host.links.has(hello.sender)) return `unknown server ${hello.sender}`;
  return null;
}

/** An inbound connection's Hello. */
function helloIn(host: HandshakeHost, conn: Connection, hello: Hello): boolean {
  const problem = checkHello(host, hello);
  if (problem !== null) return host.refuse(conn, problem);
  conn.peer = hello.sender;
  const link = host.links.get(hello.sender)!;
  if (hello.sender < host.myId) {
    // A nudge: the smaller sid never keeps its dial; close it and dial back now.
    host.logger.debug({ peer: link.id }, 'quorum nudge from a smaller id');
    host.destroy(conn);
    if (link.open === null) {
      link.attempts = 0;
      host.connect(link);
    }
    return false;
  }
  if (host.secret !== null) {
    // Challenge the dialler; it connects only once it has answered (proofIn).
    if (hello.nonce.length !== nonceBytes) return host.refuse(conn, 'Hello without a challenge: this member requires the quorum secret');
    conn.peerNonce = hello.nonce;
    conn.nonce = randomBytes(nonceBytes);
    const mac = helloMac(host, 'accept', host.myId, link.id, conn.peerNonce, conn.nonce);
    host.write(conn, encodeHelloFrame({ cluster: host.cluster, sender: host.myId, receiver: link.id, nonce: conn.nonce, mac }));
    conn.state = 'proof';
    return true;
  }
  if (hello.mac.length > 0 || hello.nonce.length > 0) {
    return host.refuse(conn, 'Hello with a challenge: this member has no quorum secret');
  }
  // The larger sid dialled again, so it has lost the connection we may still hold. Without a
  // secret nothing tells it from a process that claims its id (as in ZooKeeper): say so.
  if (link.open !== null) {
    host.logger.warn({ peer: link.id, remote: conn.socket.remoteAddress }, 'an unauthenticated connection claiming a connected peer replaces its link');
    host.retire(link.open, 'replaced by a new connection from the peer');
  }
  const reply = { cluster: host.cluster, sender: host.myId, receiver: link.id, nonce: new Uint8Array(0), mac: new Uint8Array(0) };
  host.write(conn, encodeHelloFrame(reply));
  host.opened(link, conn);
  return isOpen(conn);
}

/** An inbound connection's proof (quorum secret): its MAC over our challenge. */
function proofIn(host: HandshakeHost, conn: Connection, hello: Hello): boolean {
  const problem = checkHello(host, hello);
  if (problem !== null) return host.refuse(conn, problem);
  if (hello.sender !== conn.peer) return host.refuse(conn, `proof from ${hello.sender}, Hello from ${conn.peer}`);
  const expected = helloMac(host, 'dial', conn.peer, host.myId, conn.nonce, conn.peerNonce);
  if (!macEqual(hello.mac, expected)) return host.refuse(conn, `server ${conn.peer} failed the quorum secret's challenge`);
  const link = host.links.get(conn.peer)!;
  // Authenticated: the peer dialled again, so it has lost the connection we may still hold.
  if (link.open !== null) host.retire(link.open, 'replaced by a new authenticated connection from the peer');
  host.opened(link, conn);
  return isOpen(conn);
}

/** Our dial's Hello reply. */
function helloReply(host: HandshakeHost, conn: Connection, hello: Hello): boolean {
  const problem = checkHello(host, hello);
  if (problem !== null) return host.refuse(conn, problem);
  if (hello.sender !== conn.peer) return host.refuse(conn, `reply from ${hello.sender}`);
  if (host.secret !== null) {
    const expected = helloMac(host, 'accept', conn.peer, host.myId, conn.nonce, hello.nonce);
    if (hello.nonce.length !== nonceBytes || !macEqual(hello.mac, expected)) {
      return host.refuse(conn, `server ${conn.peer} failed the quorum secret's challenge`);
    }
    const mac = helloMac(host, 'dial', host.myId, conn.peer, hello.nonce, conn.nonce);
    host.write(conn, encodeHelloFrame({ cluster: host.cluster, sender: host.myId, receiver: conn.peer, nonce: new Uint8Array(0), mac }));
  } else if (hello.mac.length > 0 || hello.nonce.length > 0) {
    return host.refuse(conn, 'Hello with a challenge: this member has no quorum secret');
  }
  const link = host.links.get(conn.peer)!;
  if (link.dial === conn) link.dial = null;
  assert(link.open === null, 'one open connection per peer');
  host.opened(link, conn);
  return isOpen(conn);
}

/**
 * HMAC-SHA256 under the quorum secret of: a label, the direction (`accept`: the acceptor's
 * answer; `dial`: the dialler's proof), the cluster, who says it and to whom, the challenge it
 * answers and its own nonce.
 */
function helloMac(host: HandshakeHost, role: 'accept' | 'dial', sender: number, receiver: number, challenge: Uint8Array, own: Uint8Array): Buffer {
  const h = createHmac('sha256', host.secret!);
  h.update(`${macLabel}\0${role}\0${host.cluster}\0${sender}\0${receiver}\0`);
  h.update(challenge);
  h.update(own);
  return h.digest();
}

function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
