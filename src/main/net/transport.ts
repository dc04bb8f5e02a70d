// size: QuorumTransport (~590 lines) owns every peer connection's state: dial, nudge, hello proof, TLS, snapshot streams. The hello/auth handshake is the part to split out next.
// QuorumTransport: the quorum TCP mesh between ensemble members. It listens on the quorum port,
// keeps exactly one connection per peer, carries length-prefixed FlatBuffers frames (codec.ts)
// and reports peerUp / peerDown / message to the driver, which steps them into ZabPeer.
//
// One connection per pair, as QuorumCnxManager decides it: only a connection initiated by the
// larger sid is kept. The larger side dials (and redials with jittered backoff); the smaller
// side only "nudges": it connects, sends its Hello and hangs up, and the larger side, seeing a
// smaller sid (QuorumCnxManager.handleConnection, `sid < self.getId()`), closes that socket and
// dials back at once. So a simultaneous connect resolves to the larger side's dial, and a peer
// that restarts is reached without waiting for the other side's backoff.
// Unlike QuorumCnxManager we do not tear down an open connection when a nudge arrives on it: a
// nudge can cross our own dial back, and a connection the other side really lost ends on our
// side too (FIN or RST), which reports peerDown and redials.
//
// Delivery contract (what Zab assumes of TCP, as test/sim/network.ts models it): between a
// peerUp and the next peerDown of a peer, messages arrive complete and in order. A message that
// cannot be delivered (no connection, send queue over its bound, frame over frameBytesMax) is
// dropped and the connection, if any, is reset, so every loss is followed by a peerDown.
// Events are emitted only from I/O callbacks, never from inside send() or close(), so a driver
// may call send() between ZabPeer.ready() and advance() without being re-entered.
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
// (below) needs no proof: it only makes us dial the configured address, which then proves itself.
// With quorum TLS (zoo.cfg sslQuorum, ssl.quorum.*) every connection is TLS with certificates
// both ways, checked against the trust store (and, when dialling, the member's host name unless
// hostnameVerification=false), as ZooKeeper's quorum TLS does; a secret may be set as well.
// Either way, until a connection is open its frames are bounded by handshakeFrameBytesMax (a
// Hello is ~100 bytes), the Hello must come from a server.N id, and at most
// handshakesInboundMax inbound connections may be in their handshake at once.
//
// SNAP sync: a snapshot can be larger than a frame, and larger than the send queue's bound. A
// SNAP whose data exceeds snapChunkBytes goes out as SnapChunk frames (leading pieces of the
// data) and a final SNAP frame with the rest, one frame per 'drain' of the socket, so the queue
// holds about one chunk at a time; messages sent to that peer meanwhile wait behind the
// snapshot (in order, counted against sendQueueBytesMax). The receiver concatenates the pieces
// (up to snapBytesMax) and emits one SNAP message; anything but SnapChunk or SNAP after a
// SnapChunk is a protocol error that closes the connection.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Msg } from '../zab/messages.js';
import { assert } from '../../common/assert.js';
import {
  QuorumCodecError,
  type ForwardMsg,
  type QuorumMsg,
  decodeFrame,
  encodeHelloFrame,
  encodeMessageFrame,
  encodeSnapChunkFrame,
  framePrefixBytes,
  type Hello,
} from './codec.js';
import { FrameReader } from '../../protocol/frame-reader.js';
import {
  chunkFrameOverheadBytes,
  frameBytesCeiling,
  frameBytesMaxDefault,
  frameSlackBytes,
  handshakeFrameBytesMax,
  handshakesInboundMax,
  handshakeTimeoutMsDefault,
  reconnectDelayMsMax,
  reconnectDelayMsMin,
  sendQueueBytesMaxDefault,
  snapBytesMaxDefault,
  snapChunkBytesDefault,
  socketKeepAliveMs,
} from './limits.js';

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
  /** Largest frame body accepted or sent (a larger SNAP is chunked, see the header). */
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
  /** The shared quorum secret (see Authentication in the header); none: unauthenticated. */
  readonly secret?: Uint8Array | null;
  /** Quorum TLS (zoo.cfg sslQuorum): both directions present certificates the `ca` vouches for. */
  readonly tls?: QuorumTlsOptions | null;
}

export interface QuorumTlsOptions {
  /** Our certificate and key (key + cert, or pfx + passphrase) and the trusted CAs (ca). */
  readonly context: tls.SecureContextOptions;
  /** A dialled member's certificate must name the host of its server.N line. */
  readonly hostnameVerification: boolean;
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

/** A chunked SNAP going out: the data, how far it has gone, and what waits behind it. */
class SnapStream {
  at = 0;
  readonly backlog: Buffer[] = [];
  backlogBytes = 0;
  constructor(readonly msg: Extract<Msg, { type: 'SNAP' }>) {}
}

/** Bytes of a Hello challenge. */
const nonceBytes = 16;
const macLabel = 'zkts-quorum-hello-v1';

const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {} };

/** handshake: waiting for the other side's Hello; proof: an acceptor waiting for the dialler's MAC. */
type ConnectionState = 'handshake' | 'proof' | 'nudge' | 'open' | 'closed';

class Connection {
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

interface Link {
  readonly id: number;
  readonly address: PeerAddress;
  /** The one kept connection, once its handshake is done. */
  open: Connection | null;
  /** Our dial (or nudge) in progress. */
  dial: Connection | null;
  reconnectTimer: NodeJS.Timeout | null;
  attempts: number;
}

export class QuorumTransport extends EventEmitter<QuorumTransportEvents> {
  readonly myId: number;
  private readonly cluster: string;
  private readonly logger: TransportLogger;
  private readonly reconnectDelayMsMin: number;
  private readonly reconnectDelayMsMax: number;
  private readonly frameBytesMax: number;
  private readonly snapChunkBytes: number;
  private readonly snapBytesMax: number;
  private readonly sendQueueBytesMax: number;
  private readonly handshakeTimeoutMs: number;
  private readonly random: () => number;
  private readonly secret: Uint8Array | null;
  private readonly tls: QuorumTlsOptions | null;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly links = new Map<number, Link>();
  private readonly connections = new Set<Connection>();
  private server: net.Server | null = null;
  private started = false;
  private lastMsg: QuorumMsg | null = null;
  private lastFrame: Buffer | null = null;
  private closed = false;

  constructor(options: QuorumTransportOptions) {
    super();
    const o = { ...transportDefaults, ...options };
    assert(Number.isSafeInteger(o.myId) && o.myId >= 0, 'myId is a non-negative integer');
    assert(o.reconnectDelayMsMin >= 1, 'reconnectDelayMsMin >= 1');
    assert(o.reconnectDelayMsMax >= o.reconnectDelayMsMin, 'reconnect max >= min');
    assert(o.frameBytesMax >= handshakeFrameBytesMax, 'frameBytesMax >= handshakeFrameBytesMax');
    assert(o.sendQueueBytesMax >= o.frameBytesMax + framePrefixBytes, 'queue holds a frame');
    assert(o.handshakeTimeoutMs >= 1, 'handshakeTimeoutMs >= 1');
    this.myId = o.myId;
    this.cluster = o.cluster;
    this.logger = o.logger ?? silentLogger;
    this.reconnectDelayMsMin = o.reconnectDelayMsMin;
    this.reconnectDelayMsMax = o.reconnectDelayMsMax;
    this.frameBytesMax = o.frameBytesMax;
    this.snapChunkBytes = o.snapChunkBytes ?? Math.min(snapChunkBytesDefault, o.frameBytesMax - chunkFrameOverheadBytes);
    assert(this.snapChunkBytes >= 1 && this.snapChunkBytes + chunkFrameOverheadBytes <= o.frameBytesMax, 'a SNAP chunk fits a frame');
    this.snapBytesMax = o.snapBytesMax;
    this.sendQueueBytesMax = o.sendQueueBytesMax;
    this.handshakeTimeoutMs = o.handshakeTimeoutMs;
    this.random = o.random ?? Math.random;
    this.secret = o.secret ?? null;
    this.tls = o.tls ?? null;
    assert(this.secret === null || this.secret.length > 0, 'a quorum secret is not empty');
    this.listenHost = o.listenHost;
    this.listenPort = o.listenPort;
    for (const [id, address] of o.peers) {
      if (id === this.myId) continue;
      assert(Number.isSafeInteger(id) && id >= 0, `peer id ${id} is a non-negative integer`);
      const link = { id, address, open: null, dial: null, reconnectTimer: null, attempts: 0 };
      this.links.set(id, link);
    }
  }

  // ---- API ----

  /** Listens on the quorum port, then starts connecting to every peer. */
  async start(): Promise<void> {
    assert(!this.started && !this.closed, 'start() once, before close()');
    this.started = true;
    const t = this.tls;
    const server =
      t === null
        ? net.createServer({ noDelay: true }, (socket) => this.accepted(socket))
        : tls.createServer({ ...t.context, requestCert: true, rejectUnauthorized: true, handshakeTimeout: this.handshakeTimeoutMs }, (socket) => this.accepted(socket));
    if (t !== null) {
      server.on('tlsClientError', (err, socket) => {
        this.logger.warn({ remote: socket.remoteAddress, err: err.message }, 'quorum TLS handshake refused');
      });
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.listenHost, port: this.listenPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.warn({ err }, 'quorum listener error'));
    if (this.tls !== null) {
      this.logger.info({ port: this.address().port, secret: this.secret !== null }, 'quorum connections use TLS: members authenticate by certificate');
    } else if (this.secret === null) {
      this.logger.warn({ port: this.address().port }, 'the quorum is unauthenticated: any process that reaches the quorum port can claim a server id (set quorum.secret or quorum.secretFile)');
    } else {
      this.logger.info({ port: this.address().port }, 'quorum peers authenticate with the shared quorum secret (HMAC-SHA256 challenge-response)');
    }
    if (this.closed) return;
    for (const link of this.links.values()) this.connect(link);
  }

  /** The bound listening address (after start()). */
  address(): net.AddressInfo {
    const a = this.server?.address();
    assert(a !== null && a !== undefined && typeof a === 'object', 'listening');
    return a;
  }

  /**
   * Queues msg to peer. Returns false if it was dropped: no open connection (a peerDown was or
   * will be reported), or the connection was reset for the send queue or frame bound (a peerDown
   * follows asynchronously).
   */
  send(peer: number, msg: QuorumMsg): boolean {
    const conn = this.links.get(peer)?.open ?? null;
    if (conn === null || conn.state !== 'open' || conn.socket.destroyed) return false;
    if (conn.snapOut !== null) return this.queueBehindSnap(conn, msg);
    if (msg.type === 'SNAP' && msg.data.length > this.snapChunkBytes) {
      conn.snapOut = new SnapStream(msg);
      this.pumpSnap(conn);
      return isOpen(conn);
    }
    const frame = this.encodeFor(conn, msg);
    if (frame === null) return false;
    this.write(conn, frame);
    if (conn.socket.writableLength > this.sendQueueBytesMax) {
      this.logger.warn(
        { peer, queuedBytes: conn.socket.writableLength, max: this.sendQueueBytesMax },
        'quorum send queue over its bound: resetting the connection',
      );
      this.reset(conn);
      return false;
    }
    return true;
  }

  /**
   * msg's frame, or null when it cannot be sent: it does not encode (a value the codec refuses)
   * or is over frameBytesMax. Nothing throws out of send(). A Zab message then resets the
   * connection (every loss is followed by a peerDown); a forwarding message is only dropped
   * (the learner's request waits, learner-requests.ts): a reset would make the learner look
   * for a leader again and resend it, for ever.
   */
  private encodeFor(conn: Connection, msg: QuorumMsg): Buffer | null {
    let problem: string;
    try {
      const frame = this.frameOf(msg);
      if (frame.length - framePrefixBytes <= this.frameBytesMax) return frame;
      problem = `a frame of ${frame.length} bytes over frameBytesMax ${this.frameBytesMax}`;
    } catch (err) {
      problem = (err as Error).message;
    }
    const forward = msg.type === 'REQUEST' || msg.type === 'REQUESTERROR' || msg.type === 'TOUCH';
    this.logger.warn({ peer: conn.peer, type: msg.type, problem }, forward ? 'quorum message cannot be sent: dropped' : 'quorum message cannot be sent: resetting the connection');
    if (!forward) this.reset(conn);
    return null;
  }

  /** A message sent while a chunked SNAP is going out waits behind it, in order. */
  private queueBehindSnap(conn: Connection, msg: QuorumMsg): boolean {
    const out = conn.snapOut!;
    if (msg.type === 'SNAP') {
      this.logger.warn({ peer: conn.peer }, 'a second SNAP while one is going out: resetting the connection');
      this.reset(conn);
      return false;
    }
    const frame = this.encodeFor(conn, msg);
    if (frame === null) return false;
    if (out.backlogBytes + frame.length > this.sendQueueBytesMax) {
      this.logger.warn({ peer: conn.peer, type: msg.type, queuedBytes: out.backlogBytes }, 'quorum send queue behind a SNAP over its bound: resetting the connection');
      this.reset(conn);
      return false;
    }
    out.backlog.push(frame);
    out.backlogBytes += frame.length;
    return true;
  }

  /**
   * Writes the next piece of the chunked SNAP, then waits for the socket to drain before the
   * next one, so the queue holds about one chunk. After the final SNAP frame, whatever was sent
   * meanwhile follows in order.
   */
  private pumpSnap(conn: Connection): void {
    const out = conn.snapOut;
    if (out === null || !isOpen(conn) || conn.socket.destroyed) return;
    const data = out.msg.data;
    const rest = data.length - out.at;
    if (rest > this.snapChunkBytes) {
      this.write(conn, encodeSnapChunkFrame(data.subarray(out.at, out.at + this.snapChunkBytes)));
      out.at += this.snapChunkBytes;
      conn.socket.once('drain', () => this.pumpSnap(conn));
      return;
    }
    this.write(conn, encodeMessageFrame({ ...out.msg, data: data.subarray(out.at) }));
    conn.snapOut = null;
    this.logger.info({ peer: conn.peer, bytes: data.length, chunks: Math.ceil(data.length / this.snapChunkBytes) }, 'chunked SNAP sent');
    for (const frame of out.backlog) this.write(conn, frame);
  }

  /** A SnapChunk piece: kept until the SNAP that ends it. */
  private snapChunkIn(conn: Connection, data: Uint8Array): boolean {
    if (conn.snapInBytes + data.length > this.snapBytesMax) {
      return this.refuse(conn, `chunked SNAP over snapBytesMax ${this.snapBytesMax}`);
    }
    conn.snapIn ??= [];
    conn.snapIn.push(data.slice()); // the frame's buffer is the socket's
    conn.snapInBytes += data.length;
    return true;
  }

  /** The SNAP that ends a chunked one: its data is the pieces, then its own. */
  private snapAssembled(conn: Connection, msg: Extract<Msg, { type: 'SNAP' }>): Msg | null {
    const parts = conn.snapIn;
    if (parts === null) return msg;
    conn.snapIn = null;
    const total = conn.snapInBytes + msg.data.length;
    conn.snapInBytes = 0;
    if (total > this.snapBytesMax) {
      this.refuse(conn, `chunked SNAP over snapBytesMax ${this.snapBytesMax}`);
      return null;
    }
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    data.set(msg.data, at);
    return { ...msg, data };
  }

  /**
   * Closes peer's open connection because it sent something impossible (the driver's or the Zab
   * core's verdict); peerDown follows from the close, and the link redials as after any loss.
   */
  disconnect(peer: number, why: string): void {
    const conn = this.links.get(peer)?.open ?? null;
    if (conn === null || conn.state === 'closed') return;
    this.logger.warn({ peer, why }, 'closing a quorum peer connection: impossible message');
    this.reset(conn);
  }

  isConnected(peer: number): boolean {
    return this.links.get(peer)?.open != null;
  }

  connectedPeers(): number[] {
    const out: number[] = [];
    for (const link of this.links.values()) if (link.open !== null) out.push(link.id);
    return out.sort((a, b) => a - b);
  }

  /** Sockets held in any state (open, handshaking, nudging): for metrics and tests. */
  connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops listening, closes every connection and timer; emits nothing afterwards. Resolves once
   * every socket has closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) {
      if (link.reconnectTimer !== null) clearTimeout(link.reconnectTimer);
      link.reconnectTimer = null;
    }
    const socketsClosed = [...this.connections].map(
      (conn) => new Promise<void>((resolve) => conn.socket.once('close', () => resolve())),
    );
    for (const conn of this.connections) this.destroy(conn);
    const server = this.server;
    if (server !== null) {
      socketsClosed.push(new Promise((resolve) => server.close(() => resolve())));
    }
    await Promise.all(socketsClosed);
  }

  // ---- connections ----

  /** Dials link's peer now, unless connected or already dialling. */
  private connect(link: Link): void {
    if (this.closed || link.open !== null || link.dial !== null) return;
    if (link.reconnectTimer !== null) clearTimeout(link.reconnectTimer);
    link.reconnectTimer = null;
    const t = this.tls;
    const { host, port } = link.address;
    const socket =
      t === null
        ? net.connect({ host, port })
        : tls.connect({
            host,
            port,
            ...t.context,
            rejectUnauthorized: true,
            ...(net.isIP(host) === 0 ? { servername: host } : {}),
            checkServerIdentity: t.hostnameVerification ? tls.checkServerIdentity : () => undefined,
          });
    const conn = this.track(socket, true, link.id);
    link.dial = conn;
    socket.once(t === null ? 'connect' : 'secureConnect', () => {
      if (conn.state === 'closed') return;
      conn.nonce = this.secret === null ? new Uint8Array(0) : randomBytes(nonceBytes);
      const hello = { cluster: this.cluster, sender: this.myId, receiver: link.id, nonce: conn.nonce, mac: new Uint8Array(0) };
      socket.write(encodeHelloFrame(hello));
      if (link.id > this.myId) {
        // The larger sid keeps only its own dial: ours is a nudge that asks it to dial back.
        conn.state = 'nudge';
        socket.end();
      }
    });
  }

  private scheduleReconnect(link: Link): void {
    if (this.closed || link.open !== null || link.dial !== null || link.reconnectTimer !== null) {
      return;
    }
    const capMs = Math.min(
      this.reconnectDelayMsMax,
      this.reconnectDelayMsMin * 2 ** Math.min(link.attempts, 30),
    );
    const delayMs = Math.max(1, Math.round(capMs * (0.5 + 0.5 * this.random())));
    link.attempts += 1;
    link.reconnectTimer = setTimeout(() => {
      link.reconnectTimer = null;
      this.connect(link);
    }, delayMs);
  }

  private track(socket: net.Socket, outbound: boolean, peer: number): Connection {
    const conn = new Connection({ socket, outbound, peer, reader: new FrameReader(handshakeFrameBytesMax) });
    this.connections.add(conn);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, socketKeepAliveMs);
    conn.handshakeTimer = setTimeout(() => {
      conn.handshakeTimer = null;
      if (conn.state === 'handshake' || conn.state === 'proof') {
        this.logger.warn({ peer: conn.peer, outbound, remote: conn.socket.remoteAddress }, 'quorum handshake timed out');
      }
      this.destroy(conn);
    }, this.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.received(conn, chunk));
    socket.on('error', (err) => {
      // A TLS failure (a certificate we do not trust, or that does not name the host) is worth
      // a warning; a refused or reset connection is routine while members start and stop.
      const level = this.tls !== null && conn.state === 'handshake' && /certificate|SSL|TLS/i.test(err.message) ? 'warn' : 'debug';
      this.logger[level]({ peer: conn.peer, outbound, err: err.message }, 'quorum socket error');
    });
    socket.on('close', () => this.closedConnection(conn));
    return conn;
  }

  private accepted(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    let handshaking = 0;
    for (const c of this.connections) if (!c.outbound && (c.state === 'handshake' || c.state === 'proof')) handshaking++;
    if (handshaking >= handshakesInboundMax) {
      this.logger.warn({ remote: socket.remoteAddress, handshakesInboundMax }, 'too many quorum connections in their handshake: closing a new one');
      socket.destroy();
      return;
    }
    this.track(socket, false, -1);
  }

  private received(conn: Connection, chunk: Buffer): void {
    if (conn.state === 'closed' || conn.state === 'nudge') return;
    const problem = conn.reader.push(chunk, (body) => this.frame(conn, body));
    if (problem !== null) this.refuse(conn, problem);
  }

  /** One frame body; returns false once the connection is closed. */
  private frame(conn: Connection, body: Buffer): boolean {
    if (conn.state === 'closed') return false;
    if (conn.state !== 'open' && body.length > handshakeFrameBytesMax) {
      return this.refuse(conn, `handshake frame of ${body.length} bytes`);
    }
    let decoded;
    try {
      decoded = decodeFrame(body);
    } catch (err) {
      if (!(err instanceof QuorumCodecError)) throw err;
      return this.refuse(conn, err.message);
    }
    if (conn.state === 'handshake' || conn.state === 'proof') {
      if (decoded.kind !== 'hello') {
        return this.refuse(conn, `${decoded.kind === 'snapChunk' ? 'SnapChunk' : decoded.msg.type} before the handshake completed`);
      }
      const hello = decoded.hello;
      if (conn.state === 'proof') return this.proofIn(conn, hello);
      return conn.outbound ? this.helloReply(conn, hello) : this.helloIn(conn, hello);
    }
    if (decoded.kind === 'hello') return this.refuse(conn, 'Hello after the handshake');
    if (decoded.kind === 'snapChunk') return this.snapChunkIn(conn, decoded.data);
    let msg: QuorumMsg = decoded.msg;
    if (conn.snapIn !== null) {
      if (msg.type !== 'SNAP') return this.refuse(conn, `${msg.type} inside a chunked SNAP`);
      const whole = this.snapAssembled(conn, msg);
      if (whole === null) return false;
      msg = whole;
    }
    if (!this.closed) {
      if (decoded.kind === 'forward') this.emit('forward', conn.peer, msg as ForwardMsg);
      else this.emit('message', conn.peer, msg as Msg);
    }
    return isOpen(conn); // a listener may have reset it
  }

  private refuse(conn: Connection, problem: string): false {
    if (conn.state === 'closed') return false;
    this.logger.warn({ peer: conn.peer, remote: conn.socket.remoteAddress, problem }, 'bad quorum frame: closing the connection');
    this.destroy(conn);
    return false;
  }

  private checkHello(hello: Hello): string | null {
    if (hello.cluster !== this.cluster) return `cluster ${JSON.stringify(hello.cluster)}`;
    if (hello.receiver !== this.myId) return `Hello meant for server ${hello.receiver}`;
    if (hello.sender === this.myId) return 'Hello from our own id (ZOOKEEPER-2164)';
    if (!this.links.has(hello.sender)) return `unknown server ${hello.sender}`;
    return null;
  }

  /** An inbound connection's Hello. */
  private helloIn(conn: Connection, hello: Hello): boolean {
    const problem = this.checkHello(hello);
    if (problem !== null) return this.refuse(conn, problem);
    conn.peer = hello.sender;
    const link = this.links.get(hello.sender)!;
    if (hello.sender < this.myId) {
      // A nudge: the smaller sid never keeps its dial; close it and dial back now.
      this.logger.debug({ peer: link.id }, 'quorum nudge from a smaller id');
      this.destroy(conn);
      if (link.open === null) {
        link.attempts = 0;
        this.connect(link);
      }
      return false;
    }
    if (this.secret !== null) {
      // Challenge the dialler; it connects only once it has answered (proofIn).
      if (hello.nonce.length !== nonceBytes) return this.refuse(conn, 'Hello without a challenge: this member requires the quorum secret');
      conn.peerNonce = hello.nonce;
      conn.nonce = randomBytes(nonceBytes);
      const mac = this.helloMac('accept', this.myId, link.id, conn.peerNonce, conn.nonce);
      this.write(conn, encodeHelloFrame({ cluster: this.cluster, sender: this.myId, receiver: link.id, nonce: conn.nonce, mac }));
      conn.state = 'proof';
      return true;
    }
    if (hello.mac.length > 0 || hello.nonce.length > 0) {
      return this.refuse(conn, 'Hello with a challenge: this member has no quorum secret');
    }
    // The larger sid dialled again, so it has lost the connection we may still hold. Without a
    // secret nothing tells it from a process that claims its id (as in ZooKeeper): say so.
    if (link.open !== null) {
      this.logger.warn({ peer: link.id, remote: conn.socket.remoteAddress }, 'an unauthenticated connection claiming a connected peer replaces its link');
      this.retire(link.open, 'replaced by a new connection from the peer');
    }
    const reply = { cluster: this.cluster, sender: this.myId, receiver: link.id, nonce: new Uint8Array(0), mac: new Uint8Array(0) };
    this.write(conn, encodeHelloFrame(reply));
    this.opened(link, conn);
    return isOpen(conn);
  }

  /** An inbound connection's proof (quorum secret): its MAC over our challenge. */
  private proofIn(conn: Connection, hello: Hello): boolean {
    const problem = this.checkHello(hello);
    if (problem !== null) return this.refuse(conn, problem);
    if (hello.sender !== conn.peer) return this.refuse(conn, `proof from ${hello.sender}, Hello from ${conn.peer}`);
    const expected = this.helloMac('dial', conn.peer, this.myId, conn.nonce, conn.peerNonce);
    if (!macEqual(hello.mac, expected)) return this.refuse(conn, `server ${conn.peer} failed the quorum secret's challenge`);
    const link = this.links.get(conn.peer)!;
    // Authenticated: the peer dialled again, so it has lost the connection we may still hold.
    if (link.open !== null) this.retire(link.open, 'replaced by a new authenticated connection from the peer');
    this.opened(link, conn);
    return isOpen(conn);
  }

  /** Our dial's Hello reply. */
  private helloReply(conn: Connection, hello: Hello): boolean {
    const problem = this.checkHello(hello);
    if (problem !== null) return this.refuse(conn, problem);
    if (hello.sender !== conn.peer) return this.refuse(conn, `reply from ${hello.sender}`);
    if (this.secret !== null) {
      const expected = this.helloMac('accept', conn.peer, this.myId, conn.nonce, hello.nonce);
      if (hello.nonce.length !== nonceBytes || !macEqual(hello.mac, expected)) {
        return this.refuse(conn, `server ${conn.peer} failed the quorum secret's challenge`);
      }
      const mac = this.helloMac('dial', this.myId, conn.peer, hello.nonce, conn.nonce);
      this.write(conn, encodeHelloFrame({ cluster: this.cluster, sender: this.myId, receiver: conn.peer, nonce: new Uint8Array(0), mac }));
    } else if (hello.mac.length > 0 || hello.nonce.length > 0) {
      return this.refuse(conn, 'Hello with a challenge: this member has no quorum secret');
    }
    const link = this.links.get(conn.peer)!;
    if (link.dial === conn) link.dial = null;
    assert(link.open === null, 'one open connection per peer');
    this.opened(link, conn);
    return isOpen(conn);
  }

  /**
   * HMAC-SHA256 under the quorum secret of: a label, the direction (`accept`: the acceptor's
   * answer; `dial`: the dialler's proof), the cluster, who says it and to whom, the challenge it
   * answers and its own nonce.
   */
  private helloMac(role: 'accept' | 'dial', sender: number, receiver: number, challenge: Uint8Array, own: Uint8Array): Buffer {
    const h = createHmac('sha256', this.secret!);
    h.update(`${macLabel}\0${role}\0${this.cluster}\0${sender}\0${receiver}\0`);
    h.update(challenge);
    h.update(own);
    return h.digest();
  }

  private opened(link: Link, conn: Connection): void {
    conn.state = 'open';
    conn.reader.setFrameBytesMax(this.frameBytesMax);
    if (conn.handshakeTimer !== null) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    link.open = conn;
    link.attempts = 0;
    if (link.reconnectTimer !== null) clearTimeout(link.reconnectTimer);
    link.reconnectTimer = null;
    this.logger.info({ peer: link.id, outbound: conn.outbound }, 'quorum peer up');
    if (!this.closed) this.emit('peerUp', link.id);
  }

  /** Ends link's open connection now, reporting peerDown before anything newer. */
  private retire(conn: Connection, why: string): void {
    const link = this.links.get(conn.peer)!;
    assert(link.open === conn, 'retire the open connection');
    link.open = null;
    this.logger.info({ peer: link.id, why }, 'quorum peer down');
    this.destroy(conn);
    if (!this.closed) this.emit('peerDown', link.id);
  }

  /** Resets conn from inside send(): peerDown follows from its close event. */
  private reset(conn: Connection): void {
    this.destroy(conn);
  }

  private destroy(conn: Connection): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    if (conn.handshakeTimer !== null) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    conn.socket.destroy();
  }

  private closedConnection(conn: Connection): void {
    if (conn.state !== 'closed') conn.state = 'closed';
    if (conn.handshakeTimer !== null) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    this.connections.delete(conn);
    const link = conn.peer >= 0 ? this.links.get(conn.peer) : undefined;
    if (link === undefined) return;
    if (link.dial === conn) link.dial = null;
    if (link.open === conn) {
      link.open = null;
      this.logger.info({ peer: link.id }, 'quorum peer down');
      if (!this.closed) this.emit('peerDown', link.id);
    }
    this.scheduleReconnect(link);
  }

  /**
   * The driver sends one message object to several peers (a Ready's PROPOSAL or COMMIT to every
   * learner): encode it once. Messages are immutable plain data, so identity is a safe key.
   */
  private frameOf(msg: QuorumMsg): Buffer {
    if (msg !== this.lastMsg || this.lastFrame === null) {
      this.lastFrame = encodeMessageFrame(msg);
      this.lastMsg = msg;
    }
    return this.lastFrame;
  }

  private write(conn: Connection, frame: Buffer): void {
    if (!conn.corked) {
      // Frames sent in one loop iteration leave in one writev: the ACKs of several followers
      // and the ring batches read in one poll phase each make COMMITs / PROPOSALs for every
      // learner, and a writev per callback was 14% of a leader's main thread under write load.
      conn.corked = true;
      conn.socket.cork();
      setImmediate(uncork, conn);
    }
    conn.socket.write(frame);
  }
}

function isOpen(conn: Connection): boolean {
  return conn.state === 'open';
}

function uncork(conn: Connection): void {
  conn.corked = false;
  conn.socket.uncork();
}

function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
