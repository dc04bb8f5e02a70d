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
// The Hello handshake and its authentication are handshake.ts's (its header: quorum secret, TLS),
// the sockets (plain or TLS) quorum-tls.ts's, chunked SNAP streams snap-stream.ts's. Until a
// connection is open, this file bounds its frames by handshakeFrameBytesMax, its time by
// handshakeTimeoutMs, and inbound handshakes in progress by handshakesInboundMax.

import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import type { Msg } from '../zab/messages.js';
import { assert } from '../../common/assert.js';
import {
  QuorumCodecError,
  type ForwardMsg,
  type QuorumMsg,
  decodeFrame,
  encodeMessageFrame,
  framePrefixBytes,
} from './codec.js';
import { FrameReader } from '../../protocol/frame-reader.js';
import { Connection, type Link, isOpen } from './connection.js';
import { type HandshakeHost, helloFrame, sendDialHello } from './handshake.js';
import {
  chunkFrameOverheadBytes,
  handshakeFrameBytesMax,
  handshakesInboundMax,
  snapChunkBytesDefault,
  socketKeepAliveMs,
} from './limits.js';
import { type QuorumTlsOptions, quorumDial, quorumReadyEvent, quorumServer } from './quorum-tls.js';
import { SnapStream, addSnapChunk, assembleSnap } from './snap-stream.js';
import { type QuorumTransportEvents, type QuorumTransportOptions, type TransportLogger, transportDefaults } from './transport-options.js';

export type { QuorumTlsOptions } from './quorum-tls.js';
export {
  type PeerAddress,
  type QuorumTransportEvents,
  type QuorumTransportOptions,
  type TransportLogger,
  quorumFrameBytesMax,
  transportDefaults,
} from './transport-options.js';

const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {} };

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
  /** The Hello handshake's view of this transport (handshake.ts). */
  private readonly handshake: HandshakeHost;

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
    this.handshake = {
      myId: this.myId,
      cluster: this.cluster,
      secret: this.secret,
      logger: this.logger,
      links: this.links,
      refuse: (conn, problem) => this.refuse(conn, problem),
      write: (conn, frame) => this.write(conn, frame),
      destroy: (conn) => this.destroy(conn),
      connect: (link) => this.connect(link),
      retire: (conn, why) => this.retire(conn, why),
      opened: (link, conn) => this.opened(link, conn),
    };
  }

  // ---- API ----

  /** Listens on the quorum port, then starts connecting to every peer. */
  async start(): Promise<void> {
    assert(!this.started && !this.closed, 'start() once, before close()');
    this.started = true;
    const server = quorumServer({
      tls: this.tls,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      logger: this.logger,
      accepted: (socket) => this.accepted(socket),
    });
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
    const { frame, last } = out.nextFrame(this.snapChunkBytes);
    this.write(conn, frame);
    if (!last) {
      conn.socket.once('drain', () => this.pumpSnap(conn));
      return;
    }
    const data = out.msg.data;
    conn.snapOut = null;
    this.logger.info({ peer: conn.peer, bytes: data.length, chunks: Math.ceil(data.length / this.snapChunkBytes) }, 'chunked SNAP sent');
    for (const frame of out.backlog) this.write(conn, frame);
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
    const socket = quorumDial(this.tls, link.address);
    const conn = this.track(socket, true, link.id);
    link.dial = conn;
    socket.once(quorumReadyEvent(this.tls), () => {
      if (conn.state === 'closed') return;
      sendDialHello(this.handshake, conn, link);
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
      return helloFrame(this.handshake, conn, decoded.hello);
    }
    if (decoded.kind === 'hello') return this.refuse(conn, 'Hello after the handshake');
    if (decoded.kind === 'snapChunk') {
      const problem = addSnapChunk(conn, decoded.data, this.snapBytesMax);
      return problem === null ? true : this.refuse(conn, problem);
    }
    let msg: QuorumMsg = decoded.msg;
    if (conn.snapIn !== null) {
      if (msg.type !== 'SNAP') return this.refuse(conn, `${msg.type} inside a chunked SNAP`);
      const whole = assembleSnap(conn, msg, this.snapBytesMax);
      if (typeof whole === 'string') return this.refuse(conn, whole);
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

function uncork(conn: Connection): void {
  conn.corked = false;
  conn.socket.uncork();
}
