// HttpApp on node:http and the `ws` package (see app.ts): the engine wherever no uWebSockets.js
// build loads (Node > 20 on Debian 12's glibc), and on request (httpEngine=node).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
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
import { httpCloseGraceMs, httpRequestBodyBytesMax, wsBackpressureBytes, wsIdleTimeoutS, wsMessageBytesMax } from './limits.js';
import type { WsSocket } from './socket.js';

interface WsRoute {
  readonly pattern: string;
  readonly behavior: WsBehavior;
  readonly server: WebSocketServer;
}

class NodeWsSocket implements WsSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Something arrived (a message or a pong) since the last idle sweep. */
  heard = true;
  readonly #ws: WebSocket;

  constructor(ws: WebSocket, req: IncomingMessage) {
    this.#ws = ws;
    this.remoteAddress = plainIp(req.socket.remoteAddress ?? '');
    this.remotePort = req.socket.remotePort ?? 0;
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  send(data: Uint8Array | string, binary: boolean): boolean {
    if (!this.isOpen) return false;
    this.#ws.send(data, { binary, compress: false });
    return this.#ws.bufferedAmount <= wsBackpressureBytes;
  }

  bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  end(code: number, reason: string): void {
    if (this.isOpen) this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  cork(fn: () => void): void {
    fn();
  }

  ping(): void {
    if (this.isOpen) this.#ws.ping();
  }
}

/** A listener of the module, not a closure of #upgrade (which would keep the request alive). */
function ignoreError(): void {}

function readRequest(req: IncomingMessage): HttpRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    remoteAddress: plainIp(req.socket.remoteAddress ?? ''),
  };
}

export class NodeHttpApp implements HttpApp {
  readonly engine = 'node' as const;
  readonly #log: HttpAppLog;
  readonly #server: Server;
  readonly #routes = new HttpRoutes();
  readonly #wsRoutes: WsRoute[] = [];
  readonly #sockets = new Set<NodeWsSocket>();
  #idleSweep: NodeJS.Timeout | null = null;

  constructor(log: HttpAppLog) {
    this.#log = log;
    this.#server = createServer((req, res) => this.#serve(req, res));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      else socket.destroy();
    });
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
    const server = new WebSocketServer({
      noServer: true,
      maxPayload: behavior.maxMessageBytes ?? wsMessageBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#wsRoutes.push({ pattern, behavior, server });
    // ws has no idle timeout of its own: every half period, a socket heard from since the last
    // sweep is pinged, and one that was not is dropped (about uWS's idleTimeout).
    if (this.#idleSweep === null) {
      const periodMs = ((behavior.idleTimeoutS ?? wsIdleTimeoutS) * 1000) / 2;
      this.#idleSweep = setInterval(() => this.#sweep(), periodMs);
      this.#idleSweep.unref();
    }
    return this;
  }

  listen(options: HttpListenOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = this.#server;
      server.once('error', reject);
      const listenOptions: { host: string; port: number; reusePort?: boolean } = { host: options.host, port: options.port };
      if (options.reusePort === true) listenOptions.reusePort = true; // Node >= 22.12; ignored before
      server.listen(listenOptions, () => {
        server.off('error', reject);
        server.on('error', (err) => this.#log.error({ err }, 'HTTP listener error'));
        const a = server.address();
        resolve(a !== null && typeof a === 'object' ? a.port : options.port);
      });
    });
  }

  close(): Promise<void> {
    if (this.#idleSweep !== null) clearInterval(this.#idleSweep);
    this.#idleSweep = null;
    for (const s of this.#sockets) s.terminate();
    this.#sockets.clear();
    return new Promise((resolve) => {
      const server = this.#server;
      if (!server.listening) {
        resolve();
        return;
      }
      const timer = setTimeout(() => server.closeAllConnections(), httpCloseGraceMs);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
  }

  #sweep(): void {
    for (const s of this.#sockets) {
      if (!s.heard) {
        s.terminate();
        continue;
      }
      s.heard = false;
      s.ping();
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const request = readRequest(req);
    const route = this.#wsRoutes.find((r) => r.pattern === request.path);
    if (route === undefined) {
      this.#log.warn({ path: request.path, remote: request.remoteAddress }, 'WebSocket upgrade refused (404): not a WebSocket path');
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.on('error', ignoreError); // ws reports errors on the WebSocket; a reset before that is no news
    route.server.handleUpgrade(req, socket, head, (ws) => {
      const s = new NodeWsSocket(ws, req);
      this.#wire(ws, s, route.behavior, socket);
      route.behavior.open(s, request);
    });
  }

  /** The WebSocket's events. A method of its own, so that its closures hold only what they use,
   *  not the upgrade's request (an idle WebSocket would keep it: KBs each). */
  #wire(ws: WebSocket, s: NodeWsSocket, b: WsBehavior, socket: Duplex): void {
    this.#sockets.add(s);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      s.heard = true;
      b.message(s, data, isBinary);
    });
    ws.on('pong', () => {
      s.heard = true;
    });
    ws.on('error', (err) => this.#log.warn({ err, remote: s.remoteAddress }, 'WebSocket error'));
    ws.on('close', (code: number, reason: Buffer) => {
      if (!this.#sockets.delete(s)) return;
      b.close(s, code, reason.toString('utf8'));
    });
    // The socket's own drain: ws queues on it, so its drain is the WebSocket's.
    socket.on('drain', () => {
      if (s.isOpen && s.bufferedBytes() <= wsBackpressureBytes) b.drain?.(s);
    });
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const request = readRequest(req);
    const head = request.method === 'HEAD';
    const handler = this.#routes.find(request.method, request.path);
    // No route reads a body: it is drained and dropped, so the connection can be reused, up to
    // httpRequestBodyBytesMax; past that the connection is cut (a client streaming without end
    // would otherwise hold it and the server's CPU).
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (bodyBytes <= httpRequestBodyBytesMax) return;
      this.#log.warn({ remote: request.remoteAddress, path: request.path, bodyBytes }, 'HTTP request body over httpRequestBodyBytesMax: connection closed');
      req.socket.destroy();
    });
    if (handler === undefined) {
      write(res, { status: 404, body: 'Not Found\n' }, head);
      return;
    }
    const fail = (e: unknown): void => {
      this.#log.error({ err: e, path: request.path }, 'HTTP handler failed');
      if (!res.headersSent) write(res, { status: 500, body: 'Internal Server Error\n' }, head);
    };
    try {
      const reply = handler(request);
      if (reply instanceof Promise) reply.then((r) => write(res, r, head), fail);
      else write(res, reply, head);
    } catch (e) {
      fail(e);
    }
  }
}

function write(res: ServerResponse, reply: HttpReply, head: boolean): void {
  if (res.destroyed) return;
  res.statusCode = reply.status;
  res.setHeader('Content-Type', reply.contentType ?? 'text/plain; charset=utf-8');
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  res.end(head ? undefined : reply.body);
}
