// A TCP proxy for the client tests: it stands between a client and a server and can cut every
// connection (the network breaks), refuse new ones (the server is unreachable), go silent (bytes
// are dropped both ways: a read timeout) and record the frames the client sends (the first of a
// connection is the ConnectRequest, the others carry a RequestHeader).

import net from 'node:net';

export interface SniffedFrame {
  /** which proxied connection (0, 1, ...) */
  conn: number;
  /** the ConnectRequest (the connection's first frame) */
  connect: boolean;
  /** RequestHeader.xid / type; 0 for the ConnectRequest */
  xid: number;
  type: number;
  /** the frame body (without the length prefix) */
  body: Buffer;
}

export class TcpProxy {
  /** New connections are accepted and closed at once. */
  blocked = false;
  /** Bytes are dropped in both directions. */
  frozen = false;
  /** Bytes from clients are kept back (not dropped) until release(). */
  held = false;
  /** Frames the client sent, in order. */
  readonly frames: SniffedFrame[] = [];
  /** Connections accepted (including blocked ones). */
  accepted = 0;

  private readonly pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  private readonly heldBack: { b: net.Socket; d: Buffer }[] = [];
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static start(port: number, targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      const proxy = new TcpProxy(server, port);
      server.on('connection', (a) => proxy.onConnection(a, targetHost, targetPort));
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(proxy));
    });
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Frames of one opcode. */
  framesOf(type: number): SniffedFrame[] {
    return this.frames.filter((f) => !f.connect && f.type === type);
  }

  connectFrames(): SniffedFrame[] {
    return this.frames.filter((f) => f.connect);
  }

  /** Stops holding and forwards what was held. */
  release(): void {
    this.held = false;
    for (const { b, d } of this.heldBack.splice(0)) if (!b.destroyed) b.write(d);
  }

  /** Destroys every open connection. */
  cut(): void {
    for (const p of this.pairs) {
      p.a.destroy();
      p.b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private onConnection(a: net.Socket, host: string, port: number): void {
    const conn = this.accepted++;
    if (this.blocked) {
      a.destroy();
      return;
    }
    const b = net.connect({ host, port });
    const pair = { a, b };
    this.pairs.add(pair);
    let buf = Buffer.alloc(0);
    let first = true;
    a.on('data', (d: Buffer) => {
      if (this.frozen) return;
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readInt32BE(0);
        if (buf.length < 4 + len) break;
        const body = Buffer.from(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
        if (first) {
          this.frames.push({ conn, connect: true, xid: 0, type: 0, body });
          first = false;
        } else {
          this.frames.push({ conn, connect: false, xid: body.readInt32BE(0), type: body.readInt32BE(4), body });
        }
      }
      if (this.held) this.heldBack.push({ b, d });
      else b.write(d);
    });
    b.on('data', (d: Buffer) => {
      if (!this.frozen) a.write(d);
    });
    const end = (): void => {
      a.destroy();
      b.destroy();
      this.pairs.delete(pair);
    };
    a.on('close', end);
    b.on('close', end);
    a.on('error', end);
    b.on('error', end);
  }
}
