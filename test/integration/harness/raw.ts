// A deliberately tiny, hand-written ZooKeeper wire client for the raw-TCP interop tests.
//
// It does NOT use the project's codec (src/protocol): the point of the raw tests is to check
// the server against bytes written independently, following the jute definitions in
// zookeeper.jute (ZooKeeper 3.8). Every integer is big-endian; a `buffer`/`ustring` is an int
// length (-1 = null) followed by the bytes; every packet on the socket is prefixed by an int
// length.

import net from 'node:net';

export class JuteWriter {
  private readonly parts: Buffer[] = [];

  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }

  long(n: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    this.parts.push(b);
    return this;
  }

  bool(v: boolean): this {
    this.parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }

  buffer(v: Buffer | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.parts.push(v);
    return this;
  }

  string(v: string | null): this {
    return this.buffer(v === null ? null : Buffer.from(v, 'utf8'));
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  /** The bytes written so far, without a length prefix. */
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  /** The bytes written so far, prefixed by their length (one packet on the wire). */
  framed(): Buffer {
    const body = this.bytes();
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length);
    return Buffer.concat([len, body]);
  }
}

export class JuteReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  int(): number {
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  long(): bigint {
    const v = this.buf.readBigInt64BE(this.off);
    this.off += 8;
    return v;
  }

  bool(): boolean {
    const v = this.buf.readUInt8(this.off);
    this.off += 1;
    return v !== 0;
  }

  buffer(): Buffer | null {
    const n = this.int();
    if (n < 0) return null;
    if (n > this.remaining) throw new Error(`buffer length ${n} exceeds remaining ${this.remaining}`);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return Buffer.from(v);
  }

  string(): string | null {
    const b = this.buffer();
    return b === null ? null : b.toString('utf8');
  }
}

export interface RawStat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export function readStat(r: JuteReader): RawStat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  };
}

export interface ConnectRequestFields {
  protocolVersion?: number;
  lastZxidSeen?: bigint;
  timeOut: number;
  sessionId?: bigint;
  passwd?: Buffer;
  /** undefined: the byte is left off (as pre-3.4 clients do). */
  readOnly?: boolean;
}

/** A framed ConnectRequest packet. */
export function connectRequest(f: ConnectRequestFields): Buffer {
  const w = new JuteWriter()
    .int(f.protocolVersion ?? 0)
    .long(f.lastZxidSeen ?? 0n)
    .int(f.timeOut)
    .long(f.sessionId ?? 0n)
    .buffer(f.passwd ?? Buffer.alloc(16));
  if (f.readOnly !== undefined) w.bool(f.readOnly);
  return w.framed();
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** undefined when the server left the byte off. */
  readOnly: boolean | undefined;
  /** total body length in bytes */
  length: number;
}

export function parseConnectResponse(body: Buffer): ConnectResponse {
  const r = new JuteReader(body);
  const protocolVersion = r.int();
  const timeOut = r.int();
  const sessionId = r.long();
  const passwd = r.buffer() ?? Buffer.alloc(0);
  const readOnly = r.remaining > 0 ? r.bool() : undefined;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly, length: body.length };
}

export interface Reply {
  xid: number;
  zxid: bigint;
  err: number;
  /** the bytes after the ReplyHeader */
  body: Buffer;
}

export function parseReply(frame: Buffer): Reply {
  const r = new JuteReader(frame);
  const xid = r.int();
  const zxid = r.long();
  const err = r.int();
  return { xid, zxid, err, body: frame.subarray(16) };
}

/** A framed request: RequestHeader {xid, type} followed by the body bytes. */
export function requestPacket(xid: number, type: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return new JuteWriter().int(xid).int(type).raw(body).framed();
}

/**
 * One TCP connection with a length-prefixed frame reader. Frames are queued; `nextFrame()`
 * takes them in order. Closing by the peer is recorded, never thrown.
 */
export class RawConn {
  private pending: Buffer = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private frameWaiters: Array<() => void> = [];
  private closeWaiters: Array<() => void> = [];
  closed = false;
  /** the socket error that came with the close, if any (ECONNRESET, EPIPE...) */
  socketError: string | undefined;
  /** every byte ever received, for diagnostics */
  received: Buffer = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.pending = Buffer.concat([this.pending, d]);
      for (;;) {
        if (this.pending.length < 4) break;
        const len = this.pending.readInt32BE(0);
        if (len < 0 || this.pending.length < 4 + len) break;
        this.frames.push(this.pending.subarray(4, 4 + len));
        this.pending = this.pending.subarray(4 + len);
      }
      this.wakeFrames();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.socketError = e.code ?? e.message;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wakeFrames();
      const w = this.closeWaiters;
      this.closeWaiters = [];
      for (const f of w) f();
    });
  }

  static open(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      s.setNoDelay(true);
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(new RawConn(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private wakeFrames(): void {
    const w = this.frameWaiters;
    this.frameWaiters = [];
    for (const f of w) f();
  }

  write(b: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      // a write to a socket the peer already reset reports EPIPE/ECONNRESET: recorded, not thrown
      this.socket.write(b, () => resolve());
    });
  }

  /** Next frame, or null if the connection closes first. Rejects on timeout. */
  async nextFrame(timeoutMs = 5000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f !== undefined) return f;
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.frameWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next reply frame that is not a watch event (xid -1) or ping reply (xid -2). */
  async nextReply(timeoutMs = 5000): Promise<Reply | null> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f === null) return null;
      const r = parseReply(f);
      if (r.xid === -1 || r.xid === -2) continue;
      return r;
    }
  }

  /** Resolves true when the peer closes within timeoutMs, false when the socket is still open. */
  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Sends a ConnectRequest and parses the ConnectResponse (null: closed without one). */
  async handshake(f: ConnectRequestFields, timeoutMs = 5000): Promise<ConnectResponse | null> {
    await this.write(connectRequest(f));
    const body = await this.nextFrame(timeoutMs);
    return body === null ? null : parseConnectResponse(body);
  }

  /** Sends one request and waits for its reply (skipping notifications and pings). */
  async call(xid: number, type: number, body: Buffer = Buffer.alloc(0), timeoutMs = 5000): Promise<Reply | null> {
    await this.write(requestPacket(xid, type, body));
    return this.nextReply(timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a connection and completes a handshake; throws if the server refuses. */
export async function openSession(port: number, timeOut = 10000): Promise<{ conn: RawConn; session: ConnectResponse }> {
  const conn = await RawConn.open(port);
  const session = await conn.handshake({ timeOut, readOnly: false });
  if (session === null || session.timeOut <= 0) {
    conn.destroy();
    throw new Error(`handshake refused: ${JSON.stringify(session, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }
  return { conn, session };
}

/** Body of a CreateRequest {path, data, acl (world:anyone ALL), flags}. */
export function createBody(path: string, data: Buffer, flags = 0): Buffer {
  return new JuteWriter()
    .string(path)
    .buffer(data)
    .int(1) // one ACL
    .int(31) // Perms.ALL
    .string('world')
    .string('anyone')
    .int(flags)
    .bytes();
}

/** Opcodes as ZooDefs.OpCode defines them (written out here on purpose, not imported). */
export const Op = {
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  create2: 15,
  createContainer: 19,
  createTTL: 21,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  addWatch: 106,
  whoAmI: 107,
  closeSession: -11,
} as const;
