// HttpApp on uWebSockets.js (see app.ts). uWS calls back synchronously with request objects that
// die when the callback returns, so everything a handler needs is read before it runs; an answer
// that comes later is written only if the client has not gone (onAborted), inside cork.

import type * as uws from 'uWebSockets.js';
import {
  type HttpApp,
  type HttpAppLog,
  type HttpHandler,
  type HttpListenOptions,
  type HttpReply,
  type HttpRequest,
  HttpRoutes,
  type WsBehavior,
  plainIp,
} from './app.js';
import { wsBackpressureBytes, wsIdleTimeoutS, wsMessageBytesMax } from './limits.js';
import { statusLine } from './status-text.js';
import type { WsSocket } from './socket.js';

type Uws = typeof uws;

/** What a WebSocket carries from its upgrade to open (uWS user data). */
interface UpgradeData {
  /** Until open: then dropped, so an idle WebSocket does not keep its upgrade's headers. */
  request: HttpRequest | null;
  socket: UwsSocket | null;
}

const textDecoder = new TextDecoder();

/** Messages queued past wsBackpressureBytes are not dropped by uWS: it closes the socket at this
 *  many bytes instead, and the routes stop sending once send() says false, long before. */
const uwsCloseAtBackpressureBytes = 16 * wsBackpressureBytes;

class UwsSocket implements WsSocket {
  readonly remoteAddress: string;
  readonly remotePort = 0;
  #ws: uws.WebSocket<UpgradeData>;
  #open = true;

  constructor(ws: uws.WebSocket<UpgradeData>) {
    this.#ws = ws;
    this.remoteAddress = plainIp(textDecoder.decode(ws.getRemoteAddressAsText()));
  }

  get isOpen(): boolean {
    return this.#open;
  }

  markClosed(): void {
    this.#open = false;
  }

  send(data: Uint8Array | string, binary: boolean): boolean {
    if (!this.#open) return false;
    const status = this.#ws.send(data, binary, false);
    return status === 1 && this.#ws.getBufferedAmount() <= wsBackpressureBytes;
  }

  bufferedBytes(): number {
    return this.#open ? this.#ws.getBufferedAmount() : 0;
  }

  end(code: number, reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ws.end(code, reason);
  }

  terminate(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ws.close();
  }

  cork(fn: () => void): void {
    if (this.#open) this.#ws.cork(fn);
    else fn();
  }
}

function readRequest(res: uws.HttpResponse, req: uws.HttpRequest): HttpRequest {
  const headers = new Map<string, string>();
  req.forEachHeader((k, v) => headers.set(k, v));
  const query = new URLSearchParams(req.getQuery() ?? '');
  return {
    method: req.getMethod().toUpperCase(),
    path: req.getUrl(),
    query,
    header: (name) => headers.get(name),
    remoteAddress: plainIp(textDecoder.decode(res.getRemoteAddressAsText())),
  };
}

export class UwsApp implements HttpApp {
  readonly engine = 'uws' as const;
  readonly #uws: Uws;
  readonly #app: uws.TemplatedApp;
  readonly #log: HttpAppLog;
  readonly #routes = new HttpRoutes();
  readonly #sockets = new Set<UwsSocket>();
  #listenSocket: uws.us_listen_socket | null = null;
  #closed = false;

  constructor(u: Uws, log: HttpAppLog) {
    this.#uws = u;
    this.#log = log;
    this.#app = u.App();
    this.#app.any('/*', (res, req) => this.#serve(res, req));
  }

  get(pattern: string, handler: HttpHandler): this {
    this.#routes.add('GET', pattern, handler);
    return this;
  }

  any(pattern: string, handler: HttpHandler): this {
    this.#routes.add(null, pattern, handler);
    return this;
  }

  ws(pattern: string, behavior: WsBehavior): this {
    this.#app.ws<UpgradeData>(pattern, {
      compression: this.#uws.DISABLED,
      maxPayloadLength: behavior.maxMessageBytes ?? wsMessageBytesMax,
      idleTimeout: behavior.idleTimeoutS ?? wsIdleTimeoutS,
      maxBackpressure: uwsCloseAtBackpressureBytes,
      closeOnBackpressureLimit: 1,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const request = readRequest(res, req);
        res.upgrade<UpgradeData>(
          { request, socket: null },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        const data = ws.getUserData();
        const socket = new UwsSocket(ws);
        data.socket = socket;
        this.#sockets.add(socket);
        const request = data.request;
        data.request = null;
        if (request !== null) behavior.open(socket, request);
      },
      message: (ws, message, isBinary) => {
        const socket = ws.getUserData().socket;
        if (socket?.isOpen) behavior.message(socket, new Uint8Array(message), isBinary);
      },
      drain: (ws) => {
        const socket = ws.getUserData().socket;
        if (socket?.isOpen && ws.getBufferedAmount() <= wsBackpressureBytes) behavior.drain?.(socket);
      },
      close: (ws, code, message) => {
        const socket = ws.getUserData().socket;
        if (socket === null) return;
        socket.markClosed();
        this.#sockets.delete(socket);
        behavior.close(socket, code, textDecoder.decode(message));
      },
    });
    return this;
  }

  listen(options: HttpListenOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      // uWS binds with SO_REUSEPORT unless told LIBUS_LISTEN_EXCLUSIVE_PORT: several workers may
      // each listen on the same port, and the kernel spreads connections over them.
      this.#app.listen(options.host, options.port, (ls) => {
        if (ls === false) {
          reject(new Error(`cannot listen on ${options.host}:${options.port}`));
          return;
        }
        this.#listenSocket = ls;
        resolve(this.#uws.getSocketPort(ls as unknown as uws.us_socket));
      });
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const s of this.#sockets) s.markClosed();
    this.#sockets.clear();
    if (this.#listenSocket !== null) this.#uws.closeSocket(this.#listenSocket);
    this.#listenSocket = null;
    // App.close (uWS >= 20.x; untyped here) closes the listen sockets and every open socket, so
    // that no uv handle outlives the thread that owns it.
    (this.#app as unknown as { close(): void }).close();
    return Promise.resolve();
  }

  #serve(res: uws.HttpResponse, req: uws.HttpRequest): void {
    const request = readRequest(res, req);
    const handler = this.#routes.find(request.method, request.path);
    if (handler === undefined) {
      this.#write(res, { status: 404, body: 'Not Found\n' }, request.method === 'HEAD');
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const head = request.method === 'HEAD';
    let reply: HttpReply | Promise<HttpReply>;
    try {
      reply = handler(request);
    } catch (e) {
      this.#log.error({ err: e, path: request.path }, 'HTTP handler failed');
      this.#write(res, { status: 500, body: 'Internal Server Error\n' }, head);
      return;
    }
    if (!(reply instanceof Promise)) {
      this.#write(res, reply, head);
      return;
    }
    reply.then(
      (r) => {
        if (!aborted) res.cork(() => this.#write(res, r, head));
      },
      (e: unknown) => {
        this.#log.error({ err: e, path: request.path }, 'HTTP handler failed');
        if (!aborted) res.cork(() => this.#write(res, { status: 500, body: 'Internal Server Error\n' }, head));
      },
    );
  }

  #write(res: uws.HttpResponse, reply: HttpReply, head: boolean): void {
    res.writeStatus(statusLine(reply.status));
    res.writeHeader('Content-Type', reply.contentType ?? 'text/plain; charset=utf-8');
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
    res.end(head ? '' : reply.body);
  }
}
