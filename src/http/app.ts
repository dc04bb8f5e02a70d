// The HTTP and WebSocket face (admin server, metrics, status page, the WebSocket client
// transport), written once against this small interface. Two engines serve it:
//
//   uws   uWebSockets.js, wherever a build of it loads (the `@rjweb/uws` alias ships binaries for
//         Node <= 20 on glibc; newer builds need glibc >= 2.38).
//   node  node:http with the `ws` package, everywhere else.
//
// Only this folder knows which one runs; routes and sockets look the same through HttpApp. Both
// are loaded on first use: a server with no HTTP face configured pays for neither (issue 11, an
// idle observer under 60 MB).

import { createRequire } from 'node:module';
import type * as uwsTypes from 'uWebSockets.js';
import type { WsSocket } from './socket.js';

type UwsModule = typeof uwsTypes;

export type { WsSocket } from './socket.js';

export type HttpEngineName = 'uws' | 'node';
/** The config's choice (zkts key `httpEngine`): `auto` takes uws when a build loads. */
export type HttpEngineChoice = 'auto' | HttpEngineName;
export const httpEngineChoices: readonly HttpEngineChoice[] = ['auto', 'uws', 'node'];

export interface HttpRequest {
  /** Upper case: GET, POST ... */
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The peer's IP, IPv4-mapped IPv6 addresses written as plain IPv4. */
  readonly remoteAddress: string;
}

export interface HttpReply {
  readonly status: number;
  readonly body: string | Uint8Array;
  /** Default: text/plain; charset=utf-8 */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** May throw or reject: the engine answers 500 and logs it. */
export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>;

export interface WsBehavior {
  /** A message larger than this closes the socket (default wsMessageBytesMax): node sends close
   *  code 1009 (message too big); uWS drops the connection, which the peer sees as 1006. */
  readonly maxMessageBytes?: number;
  /** Seconds without any message or pong before the socket is closed (default wsIdleTimeoutS). */
  readonly idleTimeoutS?: number;
  /** A new WebSocket; `req` is its upgrade request. */
  open(ws: WsSocket, req: HttpRequest): void;
  /** `data` is valid only during the call (uws reuses it): copy what must outlive it. */
  message(ws: WsSocket, data: Uint8Array, binary: boolean): void;
  /** The queued bytes of `ws` fell back below the backpressure mark. */
  drain?(ws: WsSocket): void;
  /** `ws` closed, by either side; nothing may be sent on it any more. */
  close(ws: WsSocket, code: number, reason: string): void;
}

export interface HttpListenOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Share the port with other threads or processes (SO_REUSEPORT). uws always does. */
  readonly reusePort?: boolean;
}

export interface HttpApp {
  readonly engine: HttpEngineName;
  /** A GET (and HEAD) route: `pattern` is an exact path, or a prefix ending in `/*`. */
  get(pattern: string, handler: HttpHandler): this;
  /** A route for every method. */
  any(pattern: string, handler: HttpHandler): this;
  /** WebSocket upgrades on `pattern` (exact path). */
  ws(pattern: string, behavior: WsBehavior): this;
  /** Resolves with the bound port; rejects when the port cannot be bound. */
  listen(options: HttpListenOptions): Promise<number>;
  /** Stops listening and closes every open connection and WebSocket. A worker thread that owns a
   *  uws app must call it before it exits: uws aborts the process otherwise. */
  close(): Promise<void>;
}

export interface HttpAppLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface CreatedHttpApp {
  readonly app: HttpApp;
  /** Why this engine: logged once by the caller. */
  readonly reason: string;
}

const require = createRequire(import.meta.url);

/** uWebSockets.js, or the reason it does not load here. */
export function loadUws(): { uws: UwsModule } | { error: string } {
  try {
    return { uws: require('uWebSockets.js') as UwsModule };
  } catch (e) {
    // The package prints its own complaint to stderr and then throws; keep the first line.
    return { error: String((e as Error).message ?? e).split('\n')[0] ?? 'unknown error' };
  }
}

/** An app on the chosen engine. `uws` that does not load is an error; `auto` falls back. */
export async function createHttpApp(choice: HttpEngineChoice, log: HttpAppLog): Promise<CreatedHttpApp> {
  if (choice !== 'node') {
    const loaded = loadUws();
    if ('uws' in loaded) {
      const { UwsApp } = await import('./uws-app.js');
      return { app: new UwsApp(loaded.uws, log), reason: `uWebSockets.js loads on Node ${process.versions.node}` };
    }
    if (choice === 'uws') throw new Error(`httpEngine=uws: uWebSockets.js does not load: ${loaded.error}`);
    const { NodeHttpApp } = await import('./node-app.js');
    return { app: new NodeHttpApp(log), reason: `uWebSockets.js does not load (${loaded.error}): node:http with ws` };
  }
  const { NodeHttpApp } = await import('./node-app.js');
  return { app: new NodeHttpApp(log), reason: 'httpEngine=node' };
}

/** The routes of one app, in the order added; both engines route through this. */
export class HttpRoutes {
  readonly #routes: { readonly method: string | null; readonly pattern: string; readonly handler: HttpHandler }[] = [];

  /** `method` null: every method. A GET route answers HEAD too. */
  add(method: string | null, pattern: string, handler: HttpHandler): void {
    this.#routes.push({ method, pattern, handler });
  }

  /** The first route that takes `method` on `path`. */
  find(method: string, path: string): HttpHandler | undefined {
    return this.#routes.find(
      (r) => (r.method === null || r.method === method || (r.method === 'GET' && method === 'HEAD')) && routeMatches(r.pattern, path),
    )?.handler;
  }
}

/** `pattern` matches `path`: exactly, or as a prefix when it ends in `/*`. */
export function routeMatches(pattern: string, path: string): boolean {
  if (pattern.endsWith('/*')) {
    const prefix = pattern.slice(0, -1);
    return path.startsWith(prefix) || path === pattern.slice(0, -2);
  }
  return pattern === path;
}

/** The peer address as ZooKeeper prints it: IPv4-mapped IPv6 as plain IPv4. */
export function plainIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
