// One client TCP connection: length-prefixed frames in, corked batches of frames out.
//
// In: each 'data' chunk is parsed in place. A frame wholly inside the chunk is handed on as
// (chunk, start, end) with no copy; only a frame split across chunks is reassembled, into a
// buffer of exactly its length, so every byte is copied at most once (never the quadratic
// Buffer.concat of a growing tail). The first four bytes of a connection may instead be a
// four-letter word (NIOServerCnxn.readLength / checkFourLetterWord). A length below zero or above
// jute.maxbuffer closes the connection ("Len error", as NIOServerCnxn.readLength).
//
// Reading can be paused for several independent reasons (handshake in flight, too many requests
// outstanding, output backed up, ring outbox full); bytes already read wait in a backlog and are
// parsed when the last reason clears, so no frame is lost or reordered. (Why this parser is not the
// FrameReader of the quorum and the client, src/protocol/frame-reader.ts, is said there.)
//
// Out: frames are encoded straight into a worker-wide slab (OutSlab, a pool like Node's own
// Buffer pool) and queued as views; consecutive frames of one connection extend one view. An
// event frame is encoded once and the same Buffer is queued on every watching connection. The
// owner flushes dirty connections once per event-loop turn: one write, or cork + writes + uncork
// (a single writev) when several views are queued. A shared frame (an event) for a connection
// with nothing queued and nothing pending on its socket is written at once instead (writeShared),
// on the socket's descriptor (writeNow).

import fs from 'node:fs';
import { outSlabChunkBytesDefault } from './limits.js';
import { Latency } from './stats.js';

/**
 * What a connection needs of its byte stream: the part of net.Socket it uses. A client TCP socket
 * is one; a WebSocket carrying the same frames is adapted to it (ws-transport.ts), one message
 * per frame.
 */
export interface ConnSocket {
  readonly remotePort?: number | undefined;
  readonly destroyed: boolean;
  /** Bytes written and not yet on the wire. */
  readonly writableLength: number;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'drain', listener: () => void): this;
  pause(): this;
  resume(): this;
  isPaused(): boolean;
  /** Whole frames only (length word included), one or several. */
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  end(callback: () => void): this;
  destroy(): this;
}

/** Connection lifecycle. */
export const ConnState = {
  /** Nothing parsed yet: the first 4 bytes may be a four-letter word. */
  fresh: 0,
  /** ConnectRequest seen, waiting for the main thread (global sessions). */
  handshaking: 1,
  /** Session attached: requests flow. */
  open: 2,
  /** Closing: nothing more is read; queued output may still be flushed. */
  closing: 3,
  closed: 4,
} as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];

/** Reasons to stop reading (bits). */
export const Pause = {
  handshake: 1,
  throttle: 2,
  output: 4,
  ring: 8,
  fourLetter: 16,
} as const;

/** What a connection reports to its owner. */
export interface ConnHandler {
  /** A whole frame: payload bytes [start, end) of `buf` (valid during the call only). */
  onFrame(conn: Conn, buf: Buffer, start: number, end: number): void;
  /** The connection opened with a four-letter word (`code` = its 4 bytes as an int). */
  onFourLetter(conn: Conn, code: number): boolean;
  /** A framing error; the connection is closed after this returns. */
  onProtocolError(conn: Conn, message: string): void;
  /** The socket closed (exactly once). */
  onClose(conn: Conn): void;
}

/** Packet counters shared by every connection of a worker. */
export interface IoCounters {
  packetsReceived: number;
  packetsSent: number;
  /** The sizes of the packets sent (ServerStats' client response stats); absent: not kept. */
  responseSizes?: ResponseSizes;
}

/** Sizes in bytes of the packets sent to clients, length prefix excluded, as ServerStats'
 *  BufferStats keeps them (last, min, max; -1 before any). */
export class ResponseSizes {
  last = -1;
  min = -1;
  max = -1;

  note(frameBytes: number): void {
    const n = frameBytes - 4;
    this.last = n;
    if (n > this.max) this.max = n;
    if (this.min < 0 || n < this.min) this.min = n;
  }

  reset(): void {
    this.last = -1;
    this.min = -1;
    this.max = -1;
  }
}

/** A pool of output memory. Frames are reserved, written in place, then committed to a conn. */
export class OutSlab {
  readonly chunkBytes: number;
  buf: Buffer;
  view: DataView;
  pos = 0;

  constructor(chunkBytes = outSlabChunkBytesDefault) {
    this.chunkBytes = chunkBytes;
    this.buf = Buffer.allocUnsafeSlow(chunkBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Offset in `buf` / `view` of `bytes` fresh bytes (a new chunk when this one is full). The
   *  bytes before `pos` are never reused: views handed to sockets keep the old chunk alive. */
  reserve(bytes: number): number {
    if (this.pos + bytes > this.buf.length) {
      this.buf = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, bytes));
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.pos = 0;
    }
    const off = this.pos;
    this.pos += bytes;
    return off;
  }
}

const connOfSocket = Symbol('zkts.conn');

/** A socket that carries its connection (Conn.start). */
type OwnedSocket = ConnSocket & {
  [connOfSocket]: Conn;
};

function ignoreSocketError(): void {}

/** Conn.#fd before the first writeNow has looked. */
const fdUnknown = -2;

/** The descriptor of a socket's TCP handle (node:net keeps it as `_handle.fd`), or -1 when it has
 *  none (closed, a pipe on Windows, a test's fake socket). */
function descriptorOf(socket: ConnSocket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

export class Conn {
  /** Unique (never reused) u32 id: the connId of attach / attached / detach records. */
  readonly id: number;
  /** Dense, reused index (expiry queue id). */
  readonly slot: number;
  readonly socket: ConnSocket;
  readonly ip: string;
  readonly port: number;
  state: ConnState = ConnState.fresh;
  /** Counted in the shared ip table (release once on close). */
  ipCounted = false;

  // Statistics (ServerCnxn): packets both ways, established time, last op and latencies.
  recved = 0;
  sent = 0;
  readonly establishedMs: number;
  lastOp = 'NA';
  lastCxid = -1;
  lastZxid = -1;
  lastResponseMs = 0;
  readonly latency = new Latency();

  readonly #handler: ConnHandler;
  readonly #slab: OutSlab;
  readonly #counters: IoCounters;
  readonly #frameBytesMax: number;
  #pauseMask = 0;
  /** Chunks read while paused (null while there are none: most connections never pause). */
  #backlog: Buffer[] | null = null;
  #consuming = false;
  // Reassembly: the 4-byte length when split, then the frame when split.
  #lenAcc = 0;
  #lenFill = 0;
  #part: Buffer | null = null;
  #partFill = 0;
  #framesSeen = 0;
  // Output: views queued since the last flush (null while none: the usual turn has one run and
  // nothing else), plus the open run in the slab.
  #out: Buffer[] | null = null;
  #runBuf: Buffer | null = null;
  #runStart = 0;
  #runEnd = 0;
  #dirty = false;
  #endAfterFlush = false;
  #closeNotified = false;
  /** The socket's descriptor for writeNow (-1: none, write through the stream), looked up once
   *  (a call into C++ each time cost ~3% of a fan-out). Used only while the socket is not
   *  destroyed (writeNowReady): Node closes the descriptor only when it destroys the socket, and
   *  after that its number may belong to another connection. */
  #fd = fdUnknown;

  constructor(options: {
    id: number;
    slot: number;
    socket: ConnSocket;
    ip: string;
    handler: ConnHandler;
    slab: OutSlab;
    counters: IoCounters;
    frameBytesMax: number;
  }) {
    this.id = options.id;
    this.slot = options.slot;
    this.socket = options.socket;
    this.ip = options.ip;
    this.port = options.socket.remotePort ?? 0;
    this.establishedMs = Date.now();
    this.#handler = options.handler;
    this.#slab = options.slab;
    this.#counters = options.counters;
    this.#frameBytesMax = options.frameBytesMax;
  }

  /** 'ip:port' (made when asked: logs and stats only). */
  get remote(): string {
    return `${this.ip}:${this.port}`;
  }

  // One set of socket listeners serves every connection (each socket carries its Conn), so a
  // connection holds no closures of its own.
  static readonly #onSocketData = function (this: OwnedSocket, chunk: Buffer): void {
    this[connOfSocket].#onData(chunk);
  };
  // The listener allows half-open sockets so that a client which sends a four-letter word and
  // shuts its side at once (`echo stat | nc`) still gets the answer (ZooKeeper cancels the
  // selection key for that reason). Any other client that shuts its side is done: close, as
  // NIOServerCnxn does when a read returns -1.
  static readonly #onSocketEnd = function (this: OwnedSocket): void {
    const conn = this[connOfSocket];
    if ((conn.#pauseMask & Pause.fourLetter) === 0) conn.close();
  };
  static readonly #onSocketClose = function (this: OwnedSocket): void {
    this[connOfSocket].#onClose();
  };

  /** Hook the socket's events (after the owner has registered the connection). */
  start(): void {
    const socket = this.socket as OwnedSocket;
    socket[connOfSocket] = this;
    socket.on('data', Conn.#onSocketData);
    socket.on('end', Conn.#onSocketEnd);
    socket.on('error', ignoreSocketError); // 'close' follows; a reset client is not worth a log line
    socket.on('close', Conn.#onSocketClose);
  }

  get dirty(): boolean {
    return this.#dirty;
  }
  get paused(): boolean {
    return this.#pauseMask !== 0;
  }
  get pauseMask(): number {
    return this.#pauseMask;
  }
  get isOpen(): boolean {
    return this.state < ConnState.closing;
  }

  // ---------------------------------------------------------------------------- input

  pause(reason: number): void {
    if (this.#pauseMask === 0 && this.state < ConnState.closing) this.socket.pause();
    this.#pauseMask |= reason;
  }

  resume(reason: number): void {
    if ((this.#pauseMask & reason) === 0) return;
    this.#pauseMask &= ~reason;
    // Inside the parse loop the loop itself sees the cleared mask (and drains on the way out).
    if (this.#pauseMask === 0 && !this.#consuming) this.#drainBacklog();
  }

  #drainBacklog(): void {
    for (let b = this.#backlog; b !== null && this.#pauseMask === 0 && this.state < ConnState.closing; b = this.#backlog) {
      const chunk = b.shift();
      if (b.length === 0) this.#backlog = null;
      if (chunk !== undefined) this.#consume(chunk, 0);
    }
    if (this.#pauseMask === 0 && this.state < ConnState.closing && this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  #onData(chunk: Buffer): void {
    if (this.state >= ConnState.closing) return;
    if (this.#pauseMask !== 0 || this.#backlog !== null) {
      this.#queueBacklog(chunk, false);
      return;
    }
    this.#consume(chunk, 0);
  }

  /** Keep `chunk` for when reading resumes: at the back, or at the front (the rest of the chunk
   *  being parsed when a pause came). */
  #queueBacklog(chunk: Buffer, front: boolean): void {
    const b = this.#backlog;
    if (b === null) this.#backlog = [chunk];
    else if (front) b.unshift(chunk);
    else b.push(chunk);
  }

  #consume(chunk: Buffer, from: number): void {
    if (this.#consuming) {
      this.#queueBacklog(from === 0 ? chunk : chunk.subarray(from), false);
      return;
    }
    this.#consuming = true;
    try {
      this.#parse(chunk, from);
    } finally {
      this.#consuming = false;
    }
    // A pause and resume inside the handler leave the socket paused with nothing to pause it
    // for; draining also resumes it.
    if (this.#pauseMask === 0) this.#drainBacklog();
  }

  #parse(chunk: Buffer, from: number): void {
    let pos = from;
    const n = chunk.length;
    while (pos < n) {
      if (this.state >= ConnState.closing) return;
      if (this.#pauseMask !== 0) {
        this.#queueBacklog(pos === 0 ? chunk : chunk.subarray(pos), true);
        return;
      }
      const part = this.#part;
      if (part !== null) {
        const take = Math.min(part.length - this.#partFill, n - pos);
        chunk.copy(part, this.#partFill, pos, pos + take);
        this.#partFill += take;
        pos += take;
        if (this.#partFill === part.length) {
          this.#part = null;
          this.#frame(part, 0, part.length);
        }
        continue;
      }
      let len: number;
      if (this.#lenFill > 0 || n - pos < 4) {
        // A length word split across chunks: gather its bytes (big-endian) one at a time.
        while (this.#lenFill < 4 && pos < n) {
          this.#lenAcc = (this.#lenAcc << 8) | chunk[pos++]!;
          this.#lenFill++;
        }
        if (this.#lenFill < 4) return;
        len = this.#lenAcc | 0;
        this.#lenFill = 0;
        this.#lenAcc = 0;
      } else {
        len = chunk.readInt32BE(pos);
        pos += 4;
      }
      if (!this.#checkLength(len)) return;
      if (n - pos >= len) {
        this.#frame(chunk, pos, pos + len);
        pos += len;
      } else {
        this.#part = Buffer.allocUnsafe(len);
        this.#partFill = 0;
      }
    }
  }

  /** The length word of the next frame; false when the connection is done with (4lw or bad). */
  #checkLength(len: number): boolean {
    const first = this.#framesSeen === 0 && this.state === ConnState.fresh;
    if (first && this.#handler.onFourLetter(this, len)) {
      this.#framesSeen = 1;
      this.#part = null;
      return false;
    }
    if (len < 0 || len > this.#frameBytesMax) {
      this.#handler.onProtocolError(this, `Len error ${len}`);
      this.close();
      return false;
    }
    return true;
  }

  #frame(buf: Buffer, start: number, end: number): void {
    this.#framesSeen++;
    this.recved++;
    this.#counters.packetsReceived++;
    this.#handler.onFrame(this, buf, start, end);
  }

  // ---------------------------------------------------------------------------- output

  /** Queue the frame just written at [off, off + bytes) of the slab (see OutSlab.reserve). */
  commitOut(off: number, bytes: number): void {
    if (this.state === ConnState.closed) return;
    this.sent++;
    this.#counters.packetsSent++;
    this.#counters.responseSizes?.note(bytes);
    const buf = this.#slab.buf;
    if (this.#runBuf === buf && this.#runEnd === off) {
      this.#runEnd = off + bytes;
    } else {
      this.#closeRun();
      this.#runBuf = buf;
      this.#runStart = off;
      this.#runEnd = off + bytes;
    }
    this.#dirty = true;
  }

  /** Whether writeNow may be called: nothing queued, the socket open and taking bytes. */
  writeNowReady(): boolean {
    return !this.#dirty && this.state === ConnState.open && !this.socket.destroyed && this.socket.writableLength === 0;
  }

  /**
   * Write a frame someone else owns and keeps unchanged straight to the socket, when nothing is
   * queued (writeNowReady): the order of frames is kept, and no flush is needed.
   *
   * On a plain TCP socket the bytes go to its descriptor with one write(2) (fs.writeSync), not
   * through the stream: socket.write costs a WriteWrap, a nextTick and the Writable state machine
   * per frame, about 2-3 µs, and a watch fan-out or a ping answer is one small frame per socket
   * (`node dist/bench/socket-write.js`; docs/cost-model.md "One notification"). It is safe
   * because nothing is queued in the stream or in libuv (writableLength 0, which counts bytes
   * until libuv has written them) and the socket is open (its descriptor is its own). The
   * descriptor is non-blocking: what the kernel does not take (EAGAIN, or part of the frame) goes
   * through socket.write after it, in order, and an error (EPIPE, ECONNRESET) comes back through
   * socket.write as the stream's own error. A TLS socket, or a stream with no descriptor, always
   * takes socket.write.
   */
  writeNow(frame: Buffer): void {
    this.sent++;
    this.#counters.packetsSent++;
    this.#counters.responseSizes?.note(frame.length);
    const socket = this.socket;
    let fd = this.#fd;
    if (fd === fdUnknown) {
      fd = (socket as { encrypted?: boolean }).encrypted === true ? -1 : descriptorOf(socket);
      this.#fd = fd;
    }
    if (fd < 0 || socket.destroyed) {
      socket.write(frame);
      return;
    }
    let n = 0;
    try {
      n = fs.writeSync(fd, frame);
    } catch {
      n = 0; // EAGAIN or a broken connection: the stream writes it, or reports the error
    }
    if (n < frame.length) socket.write(n === 0 ? frame : frame.subarray(n));
  }

  /**
   * Send bytes someone else owns and keeps unchanged (an event frame shared by many conns). The
   * caller has marked this connection for the end-of-turn flush. When nothing is queued for it
   * this turn and its socket holds nothing (writeNowReady), the frame is written at once: the
   * flush would have written it first anyway, so the order on the wire is the same, and a fan-out
   * to thousands of sessions costs no queue per connection. Later frames of this turn then queue
   * behind it (the connection stays dirty) and leave together at the flush, as one write.
   */
  writeShared(frame: Buffer): void {
    if (this.state === ConnState.closed) return;
    if (this.writeNowReady()) {
      this.writeNow(frame);
      this.#dirty = true;
      return;
    }
    this.sent++;
    this.#counters.packetsSent++;
    this.#counters.responseSizes?.note(frame.length);
    this.#closeRun();
    this.#queueOut(frame);
    this.#dirty = true;
  }

  /** Queue raw bytes (four-letter-word text): not a packet. */
  writeRaw(bytes: Buffer): void {
    if (this.state === ConnState.closed) return;
    this.#closeRun();
    this.#queueOut(bytes);
    this.#dirty = true;
  }

  #closeRun(): void {
    const run = this.#runBuf;
    if (run === null) return;
    this.#queueOut(run.subarray(this.#runStart, this.#runEnd));
    this.#runBuf = null;
  }

  #queueOut(b: Buffer): void {
    if (this.#out === null) this.#out = [b];
    else this.#out.push(b);
  }

  /** Write what is queued (the owner calls this once per turn for each dirty connection). */
  flush(): void {
    this.#dirty = false;
    const out = this.#out;
    const run = this.#runBuf;
    const writable = this.state !== ConnState.closed && !this.socket.destroyed;
    if (out === null) {
      // The usual turn: one run of frames in the slab and nothing else.
      if (run !== null) {
        this.#runBuf = null;
        if (writable) this.socket.write(run.subarray(this.#runStart, this.#runEnd));
      }
    } else {
      this.#closeRun();
      this.#out = null;
      if (writable) {
        const socket = this.socket;
        if (out.length === 1) {
          socket.write(out[0]!);
        } else {
          socket.cork();
          for (const b of out) socket.write(b);
          socket.uncork();
        }
      }
    }
    if (this.#endAfterFlush && this.state !== ConnState.closed) {
      this.#endAfterFlush = false;
      const socket = this.socket;
      socket.end(() => socket.destroy());
    }
  }

  /** Bytes handed to the socket and not yet on the wire. */
  get writableBytes(): number {
    return this.socket.writableLength;
  }

  // ---------------------------------------------------------------------------- closing

  /** Stop reading, write what is queued at the next flush, then close (ZooKeeper's closeConn). */
  closeAfterFlush(): void {
    if (this.state >= ConnState.closing) return;
    this.state = ConnState.closing;
    this.#backlog = null;
    this.#endAfterFlush = true;
    this.#dirty = true;
  }

  /** Close now, dropping queued output. */
  close(): void {
    if (this.state === ConnState.closed) return;
    this.state = ConnState.closing;
    this.#backlog = null;
    this.#out = null;
    this.#runBuf = null;
    this.socket.destroy();
  }

  #onClose(): void {
    this.state = ConnState.closed;
    this.#backlog = null;
    this.#out = null;
    this.#runBuf = null;
    this.#part = null;
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.#handler.onClose(this);
  }
}
