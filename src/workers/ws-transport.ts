// The WebSocket client transport (issue 12 item 4): the same jute frames as the client port, one
// binary WebSocket message per frame, served by the session workers.
//
// The message is the frame WITHOUT its 4-byte length word (the WebSocket message already says
// how long it is): a ConnectRequest message is the ConnectRequest record, every later message a
// RequestHeader and its body, and every message the server sends is a ReplyHeader and its body
// (or a ConnectResponse). Everything else is the TCP path: each WebSocket is adapted to the
// ConnSocket a Conn reads and writes (WsConnSocket), so handshake, pings, requests, replies,
// watch events, close, session moves, throttling, maxClientCnxns and jute.maxbuffer are the
// code the TCP connections run.
//
// Each worker owns its own HttpApp (src/http). uWS binds with SO_REUSEPORT, so every worker
// listens on the same port and the kernel spreads the connections; on node:http the same holds
// where Node has `reusePort` (>= 22.12). Where it does not (Node 20 with httpEngine=node and
// several workers), only worker 0 listens, and says so in a warning: the sessions it takes are
// still served, by one worker. A worker that owns a uWS app closes it before its thread exits
// (uWS aborts the process otherwise): SessionWorker.stop and the worker's crash path call close().
//
// Backpressure: writes go out as messages; a WebSocket whose queued bytes pass the output marks
// pauses reading exactly as a socket does (connections/output.ts), and the engine's drain
// resumes it. uWS cannot stop reading one WebSocket, so while a connection is paused the
// messages that still arrive are held here, bounded by wsPausedInputBytesMax per connection and
// wsHeldInputBytesWorkerMax per worker (past either, the connection adding to it is closed,
// with a warning), and handed on in order when reading resumes.
//
// Bad input closes only that connection, with a warning: a text message; a message longer than
// jute.maxbuffer (exactly one byte over reaches the Conn's "Len error" check; the engine drops
// a longer one before it is buffered whole); a frame that does not parse (the same checks as
// TCP). An upgrade on any other path, or plain HTTP, is refused with 404 and a line.

import { createHttpApp, type HttpApp, type HttpEngineChoice, type HttpRequest, type WsSocket } from '../http/app.js';
import type { ConnSocket } from './conn.js';
import { wsHeldInputBytesWorkerMax, wsPausedInputBytesMax } from './limits.js';
import { reusePortSupported } from './listener.js';
import type { WorkerLog } from './log.js';

/** WebSocket close codes (RFC 6455 section 7.4.1). */
export const WsCloseCode = {
  normal: 1000,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
} as const;

/** Bytes held by all of a worker's paused WebSocket connections (WsTransport owns one). */
export interface HeldInput {
  bytes: number;
}

/** One WebSocket as the ConnSocket a Conn reads and writes. */
export class WsConnSocket implements ConnSocket {
  readonly remotePort: number;
  readonly ws: WsSocket;
  readonly #log: WorkerLog;
  readonly #worker: HeldInput;
  #onData: ((chunk: Buffer) => void) | null = null;
  #onClose: (() => void) | null = null;
  #drainWaiters: (() => void)[] | null = null;
  #paused = false;
  /** Messages (with their length word) that arrived while paused, and their bytes. */
  #held: Buffer[] | null = null;
  #heldBytes = 0;
  #corked: Buffer[] | null = null;
  #destroyed = false;
  #closeEmitted = false;
  #deliverScheduled = false;

  constructor(ws: WsSocket, log: WorkerLog, worker: HeldInput = { bytes: 0 }) {
    this.ws = ws;
    this.remotePort = ws.remotePort;
    this.#log = log;
    this.#worker = worker;
  }

  get destroyed(): boolean {
    return this.#destroyed || !this.ws.isOpen;
  }

  get writableLength(): number {
    return this.ws.bufferedBytes();
  }

  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string, listener: ((chunk: Buffer) => void) | (() => void) | ((err: Error) => void)): this {
    // 'end' (a half-close) and 'error' do not happen on a WebSocket: its close is the one event.
    if (event === 'data') this.#onData = listener as (chunk: Buffer) => void;
    else if (event === 'close') this.#onClose = listener as () => void;
    return this;
  }

  once(_event: 'drain', listener: () => void): this {
    if (this.#drainWaiters === null) this.#drainWaiters = [listener];
    else this.#drainWaiters.push(listener);
    return this;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    if (this.#held !== null) this.#scheduleDeliver();
    return this;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  /** A binary message from the client: one frame. `data` is valid during the call only. */
  message(data: Uint8Array): void {
    if (this.#destroyed) return;
    const frame = Buffer.allocUnsafe(4 + data.length);
    frame.writeInt32BE(data.length, 0);
    frame.set(data, 4);
    if (!this.#paused && this.#held === null) {
      this.#onData?.(frame);
      return;
    }
    if (this.#heldBytes >= wsPausedInputBytesMax || this.#worker.bytes >= wsHeldInputBytesWorkerMax) {
      const fields = { remote: this.ws.remoteAddress, heldBytes: this.#heldBytes, workerHeldBytes: this.#worker.bytes };
      this.#log.warn(fields, 'closing connection: WebSocket client sends on past backpressure');
      this.closeWith(WsCloseCode.policyViolation, 'backpressure');
      return;
    }
    if (this.#held === null) this.#held = [frame];
    else this.#held.push(frame);
    this.#heldBytes += frame.length;
    this.#worker.bytes += frame.length;
  }

  #scheduleDeliver(): void {
    if (this.#deliverScheduled) return;
    this.#deliverScheduled = true;
    // As a socket's resume: data comes on a later turn, not inside the resume() call.
    setImmediate(() => {
      this.#deliverScheduled = false;
      this.#deliverHeld();
    });
  }

  #deliverHeld(): void {
    for (let h = this.#held; h !== null && !this.#paused && !this.#destroyed; h = this.#held) {
      const frame = h.shift();
      if (h.length === 0) this.#held = null;
      if (frame === undefined) continue;
      this.#heldBytes -= frame.length;
      this.#worker.bytes -= frame.length;
      this.#onData?.(frame);
    }
  }

  /** Whole frames: each goes out as one message without its length word. */
  write(chunk: Buffer): boolean {
    if (this.#corked !== null) {
      this.#corked.push(chunk);
      return true;
    }
    if (this.destroyed) return false;
    const first = chunk.readInt32BE(0);
    if (first + 4 === chunk.length) return this.ws.send(chunk.subarray(4), true);
    let ok = true;
    this.ws.cork(() => {
      ok = this.#sendFrames(chunk);
    });
    return ok;
  }

  #sendFrames(chunk: Buffer): boolean {
    let ok = true;
    for (let pos = 0; pos < chunk.length; ) {
      const len = chunk.readInt32BE(pos);
      if (!this.ws.send(chunk.subarray(pos + 4, pos + 4 + len), true)) ok = false;
      pos += 4 + len;
    }
    return ok;
  }

  cork(): void {
    if (this.#corked === null) this.#corked = [];
  }

  uncork(): void {
    const corked = this.#corked;
    this.#corked = null;
    if (corked === null || corked.length === 0 || this.destroyed) return;
    this.ws.cork(() => {
      for (const c of corked) this.#sendFrames(c);
    });
  }

  /** Closes after what is queued (a close frame, 1000). */
  end(callback: () => void): this {
    this.closeWith(WsCloseCode.normal, '');
    callback();
    return this;
  }

  /** Closes at once, dropping what is queued. */
  destroy(): this {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    this.#dropHeld();
    this.ws.terminate();
    this.closed();
    return this;
  }

  /** A clean close with a code, as the protocol errors of this transport end. */
  closeWith(code: number, reason: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#dropHeld();
    this.ws.end(code, reason);
    this.closed();
  }

  #dropHeld(): void {
    this.#held = null;
    this.#worker.bytes -= this.#heldBytes;
    this.#heldBytes = 0;
  }

  /** The engine drained the socket below its backpressure mark. */
  drained(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = null;
    if (waiters !== null) for (const w of waiters) w();
  }

  /** The WebSocket is gone (either side): the Conn hears 'close' once, on a later tick (as a
   *  net.Socket's close comes, never inside the call that closed it). */
  closed(): void {
    this.#destroyed = true;
    this.#dropHeld();
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    process.nextTick(() => this.#onClose?.());
  }
}

export interface WsTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly engine: HttpEngineChoice;
  /** jute.maxbuffer: a longer message closes its connection. */
  readonly frameBytesMax: number;
  readonly workerIndex: number;
  readonly workerCount: number;
  readonly log: WorkerLog;
  /** maxClientCnxns for a new connection (Listener.admit): null refuses it. */
  admit(ip: string): boolean | null;
  /** A new connection, to be served as a TCP one is. */
  onConnection(socket: WsConnSocket, ip: string, counted: boolean): void;
}

/** A worker's WebSocket listener. */
export class WsTransport {
  readonly #o: WsTransportOptions;
  readonly #sockets = new Map<WsSocket, WsConnSocket>();
  readonly #held: HeldInput = { bytes: 0 };
  #app: HttpApp | null = null;
  #closed = false;

  constructor(options: WsTransportOptions) {
    this.#o = options;
  }

  /** Listen; resolves with the bound port, or 0 when this worker does not listen (see the top). */
  async start(): Promise<number> {
    const o = this.#o;
    const { app, reason } = await createHttpApp(o.engine, o.log);
    if (this.#closed) {
      await app.close();
      return 0;
    }
    this.#app = app;
    if (app.engine === 'node' && o.workerCount > 1 && !reusePortSupported()) {
      if (o.workerIndex !== 0) {
        await this.close();
        return 0;
      }
      o.log.warn(
        { node: process.versions.node, port: o.port },
        'WebSocket transport on node:http without SO_REUSEPORT (Node < 22.12): worker 0 alone serves it',
      );
    }
    app.ws(o.path, {
      // One byte over jute.maxbuffer still reaches the Conn (its "Len error"); more is the engine's.
      maxMessageBytes: o.frameBytesMax + 1,
      open: (ws, req) => this.#open(ws, req),
      message: (ws, data, binary) => this.#message(ws, data, binary),
      drain: (ws) => this.#sockets.get(ws)?.drained(),
      close: (ws, code, reason) => this.#close(ws, code, reason),
    });
    // Anything else on this port (an upgrade on another path, plain HTTP) is refused, with a
    // line; on node:http an upgrade never reaches the routes, and the engine logs it alike.
    app.any('/*', (req) => {
      o.log.warn({ path: req.path, remote: req.remoteAddress }, 'request refused (404): not the WebSocket path');
      return { status: 404, body: 'Not Found\n' };
    });
    let port: number;
    try {
      port = await app.listen({ host: o.host, port: o.port, reusePort: true });
    } catch (e) {
      await this.close();
      throw e;
    }
    o.log.info({ engine: app.engine, reason, host: o.host, port, path: o.path }, 'WebSocket transport listening');
    return port;
  }

  /** Stops listening and closes every WebSocket. Must run before the thread exits (uWS). */
  async close(): Promise<void> {
    this.#closed = true;
    const app = this.#app;
    this.#app = null;
    for (const s of this.#sockets.values()) s.closed();
    this.#sockets.clear();
    if (app !== null) await app.close();
  }

  #open(ws: WsSocket, _req: HttpRequest): void {
    const o = this.#o;
    if (this.#closed) {
      ws.terminate();
      return;
    }
    const ip = ws.remoteAddress;
    const counted = o.admit(ip);
    if (counted === null) {
      ws.end(WsCloseCode.policyViolation, 'too many connections');
      return;
    }
    const socket = new WsConnSocket(ws, o.log, this.#held);
    this.#sockets.set(ws, socket);
    o.onConnection(socket, ip, counted);
  }

  #message(ws: WsSocket, data: Uint8Array, binary: boolean): void {
    const socket = this.#sockets.get(ws);
    if (socket === undefined) return;
    if (!binary) {
      this.#o.log.warn({ remote: ws.remoteAddress }, 'closing connection: a text WebSocket message (frames are binary)');
      socket.closeWith(WsCloseCode.unsupportedData, 'binary frames only');
      return;
    }
    socket.message(data);
  }

  #close(ws: WsSocket, code: number, reason: string): void {
    const socket = this.#sockets.get(ws);
    if (socket === undefined) return;
    this.#sockets.delete(ws);
    // uWS closes a message over maxMessageBytes itself (1006, "Received too big message"); the
    // ws package logs its own error line for it (src/http/node-app.ts, "Max payload size").
    if (code === WsCloseCode.messageTooBig || reason.startsWith('Received too big message')) {
      const fields = { remote: ws.remoteAddress, juteMaxBuffer: this.#o.frameBytesMax };
      this.#o.log.warn(fields, 'closing connection: a WebSocket message over jute.maxbuffer');
    }
    socket.closed();
  }
}
