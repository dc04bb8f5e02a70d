// A raw ZooKeeper wire client for worker tests: writes frames, reads frames, decodes with the
// project's jute codec. It waits for whole frames and for the socket's end.

import net from 'node:net';
import {
  JuteReader,
  JuteWriter,
  decodeConnectResponse,
  decodeReplyHeader,
  decodeWatcherEvent,
  encodeConnectRequest,
} from '../../../../src/protocol/jute/index.js';
import type { ConnectResponse, ReplyHeader, WatcherEvent } from '../../../../src/protocol/types.js';

export interface ConnectOptions {
  timeoutMs?: number;
  sessionId?: bigint;
  passwd?: Uint8Array;
  lastZxidSeen?: number;
  readOnly?: boolean;
  localSession?: boolean;
}

export class TestClient {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #frames: Buffer[] = [];
  #raw: Buffer[] = [];
  #waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#raw.push(chunk);
      this.#buf = Buffer.concat([this.#buf, chunk]);
      while (this.#buf.length >= 4) {
        const len = this.#buf.readInt32BE(0);
        if (len < 0 || this.#buf.length < 4 + len) break;
        this.#frames.push(this.#buf.subarray(4, 4 + len));
        this.#buf = this.#buf.subarray(4 + len);
      }
      this.#wake();
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.#wake();
        resolve();
      });
    });
  }

  static connect(port: number): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new TestClient(s)));
      s.once('error', reject);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #wait(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`test client: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Send a ConnectRequest frame. */
  sendConnect(o: ConnectOptions = {}): void {
    const w = new JuteWriter();
    w.beginFrame();
    encodeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: o.lastZxidSeen ?? 0,
      timeOut: o.timeoutMs ?? 10000,
      sessionId: o.sessionId ?? 0n,
      passwd: o.passwd ?? new Uint8Array(16),
      readOnly: o.readOnly ?? false,
      localSession: o.localSession ?? false,
    });
    w.endFrame();
    this.write(w.bytesCopy());
  }

  /** A request frame: RequestHeader(xid, op) + body. */
  static requestFrame(xid: number, op: number, body: (w: JuteWriter) => void = () => {}): Buffer {
    const w = new JuteWriter();
    w.beginFrame();
    w.writeInt(xid);
    w.writeInt(op);
    body(w);
    w.endFrame();
    return w.bytesCopy();
  }

  send(xid: number, op: number, body: (w: JuteWriter) => void = () => {}): void {
    this.write(TestClient.requestFrame(xid, op, body));
  }

  async frame(timeoutMs = 5000): Promise<Buffer> {
    await this.#wait(() => this.#frames.length > 0 || this.closed, timeoutMs, 'a frame');
    const f = this.#frames.shift();
    if (f === undefined) throw new Error('test client: connection closed before a frame');
    return f;
  }

  async connectResponse(timeoutMs = 5000): Promise<ConnectResponse> {
    return decodeConnectResponse(new JuteReader(await this.frame(timeoutMs)));
  }

  /** The next reply or notification: its header, the WatcherEvent when xid is -1, the body. */
  async reply(timeoutMs = 5000): Promise<{ header: ReplyHeader; event: WatcherEvent | null; body: Buffer }> {
    const f = await this.frame(timeoutMs);
    const r = new JuteReader(f);
    const header = decodeReplyHeader(r);
    const body = f.subarray(r.offset);
    const event = header.xid === -1 ? decodeWatcherEvent(new JuteReader(body)) : null;
    return { header, event, body };
  }

  /** Frames queued now (without waiting). */
  get queued(): number {
    return this.#frames.length;
  }

  /** All bytes received so far as text (four-letter words). */
  text(): string {
    return Buffer.concat(this.#raw).toString('utf8');
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.#wait(() => this.closed, timeoutMs, 'the connection to close');
  }

  /** Whether the socket stays open for `ms`. */
  async staysOpen(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return !this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Session id (bigint) as the hi/lo halves ring records use. */
export function hiLo(id: bigint): { sidHi: number; sidLo: number } {
  const u = BigInt.asUintN(64, id);
  return { sidHi: Number(u >> 32n), sidLo: Number(u & 0xffffffffn) };
}

export function idOf(hi: number, lo: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}
