// The worker's own listener on the client port, and the per-IP connection limit.
//
// Two ways to listen (DESIGN.md "Listening"): each worker binds an SO_REUSEPORT socket of its
// own (Node >= 22.12 has `reusePort`), or it adopts a duplicate of one listening socket that the
// launcher gave this worker alone (`listen({ fd })`; on Node 20 a launcher passes the socket N
// times through child_process.spawn's stdio, so every worker has its own fd number).
//
// maxClientCnxns is counted per client IP across all workers in the shared IpCountTable, as
// NIOServerCnxnFactory counts it per InetAddress; an accepted connection over the limit is
// closed at once with ZooKeeper's warning. When the table already tracks as many addresses as
// it may (maxClientAddresses), a connection from a new address is closed too (fail closed),
// with a warning at most once per `tableFullLogMs` saying how many were refused meanwhile.

import net from 'node:net';
import { IpAcquire, type IpCountTable } from '../shm/ipcount.js';
import type { ListenSpec } from '../shm/admin.js';
import { tableFullLogMs } from './limits.js';
import type { WorkerLog } from './log.js';

/** The address ZooKeeper would print: IPv4-mapped IPv6 addresses as plain IPv4. */
export function clientIp(socket: net.Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Whether this Node can bind SO_REUSEPORT sockets (net `reusePort`, Node 22.12 / 23.1). */
export function reusePortSupported(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export interface ListenerOptions {
  spec: ListenSpec;
  ipCounts: IpCountTable;
  /** Per IP across all workers; 0 = unlimited (and not counted). */
  maxClientCnxns: number;
  /** Other workers listen on the same port (reusePort without SO_REUSEPORT is then wrong). */
  sharedPort: boolean;
  log: WorkerLog;
  /** An accepted connection within the limit; `counted`: release its IP when it closes. */
  onConnection(socket: net.Socket, ip: string, counted: boolean): void;
  /** A connection refused by maxClientCnxns or a full address table (ZooKeeper's connection_rejected). */
  onRefused?(): void;
  /** secureClientPort: an accepted connection within the limit goes here instead (its TLS
   *  handshake, src/workers/tls.ts); the listener releases its IP when the raw socket closes. */
  handOff?: (raw: net.Socket) => void;
}


export class Listener {
  readonly server: net.Server;
  readonly #options: ListenerOptions;
  #fullLoggedMs = -Infinity;
  #fullSinceLog = 0;

  constructor(options: ListenerOptions) {
    this.#options = options;
    // allowHalfOpen: Conn decides what a client's half-close means (see Conn.start).
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      this.#accept(socket),
    );
  }

  /** Start listening; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }> {
    const { spec, log } = this.#options;
    return new Promise((resolve, reject) => {
      const server = this.server;
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        server.on('error', (err) => log.error({ err }, 'client listener error'));
        const a = server.address();
        if (a !== null && typeof a === 'object') resolve({ host: a.address, port: a.port });
        else resolve({ host: spec.host, port: spec.port });
      };
      if (spec.mode === 'fd') {
        // Node calls listen(fd, backlog) on the adopted socket, 511 when no backlog is given, and
        // Linux sets an already listening socket's backlog again: without it every worker would
        // cut the launcher's clientPortListenBacklog back to 511. For a handle Node reads the
        // backlog only from the second argument (listen(handle, backlog, cb)); `options.backlog`
        // is ignored there.
        server.listen({ fd: spec.fd }, spec.backlog, done);
        return;
      }
      if (this.#options.sharedPort && !reusePortSupported()) {
        log.warn(
          { node: process.versions.node },
          'reusePort needs Node >= 22.12: listening without SO_REUSEPORT ' +
            '(use mode fd for several workers)',
        );
      }
      const options: net.ListenOptions & { reusePort?: boolean } = {
        host: spec.host,
        port: spec.port,
        backlog: spec.backlog,
        reusePort: true,
      };
      server.listen(options, done);
    });
  }

  /** The IP of a counted connection went away. */
  release(ip: string): void {
    this.#options.ipCounts.release(ip);
  }

  /** Stop accepting (open connections are the caller's). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
  }

  #accept(socket: net.Socket): void {
    const ip = clientIp(socket);
    const admitted = this.admit(ip);
    if (admitted !== null) {
      this.#pass(socket, ip, admitted);
      return;
    }
    socket.on('error', () => {});
    socket.destroy();
  }

  /**
   * maxClientCnxns for a new connection from `ip` (a TCP or a WebSocket one): null when it is
   * refused (logged), else whether it was counted (release its IP when it closes).
   */
  admit(ip: string): boolean | null {
    const { maxClientCnxns, ipCounts, log } = this.#options;
    if (maxClientCnxns === 0) return false;
    const got = ipCounts.acquire(ip, maxClientCnxns);
    if (got === IpAcquire.ok) return true;
    if (got === IpAcquire.perIpLimit) {
      // NIOServerCnxnFactory.AcceptThread.doAccept
      log.warn({ ip }, `Too many connections from /${ip} - max is ${maxClientCnxns}`);
    } else if (got === IpAcquire.tableFull) {
      this.#tableFull(ip);
    }
    this.#options.onRefused?.();
    return null;
  }

  #pass(socket: net.Socket, ip: string, counted: boolean): void {
    const handOff = this.#options.handOff;
    if (handOff === undefined) {
      this.#options.onConnection(socket, ip, counted);
      return;
    }
    if (counted) socket.once('close', () => this.release(ip));
    handOff(socket);
  }

  #tableFull(ip: string): void {
    this.#fullSinceLog++;
    const now = performance.now();
    if (now - this.#fullLoggedMs < tableFullLogMs) return;
    this.#fullLoggedMs = now;
    const { ipCounts, log } = this.#options;
    const fields = { ip, addresses: ipCounts.addresses, refused: this.#fullSinceLog };
    const msg =
      `Too many client addresses connected (maxClientAddresses=${ipCounts.addressesMax}): ` +
      `refused ${this.#fullSinceLog} connection(s) from new addresses, the last from /${ip}`;
    log.warn(fields, msg);
    this.#fullSinceLog = 0;
  }
}
