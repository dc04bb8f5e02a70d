// Connect strings and the host list, as ZooKeeper's client reads and walks them
// (ConnectStringParser, StaticHostProvider):
//
//   "h1:2181,h2:2181,[::1]:2182/app/a"   hosts, each with an optional port (default 2181; IPv6
//                                         in brackets), then an optional chroot
//   "ws://h1:8081/zookeeper,h2:2181#/app" zkts's WebSocket transport: a ws:// host is a URL whose
//                                         path is the server's webSocketPath; with such hosts the
//                                         chroot, if any, follows a '#' at the end (a '/' would be
//                                         part of the URL's path)
//
// The host list is shuffled once; next() walks it round-robin and says when every host has been
// tried since the last successful connection (the caller then waits its retry delay, as
// StaticHostProvider.next(spinDelay) sleeps). The chroot is prefixed to every path a request
// sends and taken off every path a reply or event brings back.

import { isValidPath } from '../common/path.js';
import { ZkError } from './errors.js';
import { Err } from '../common/zk.js';
import { portDefault, portMax } from './limits.js';

export const DEFAULT_PORT = portDefault;

export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** A ws:// host: the WebSocket path to upgrade on (the URL's path). Absent: plain TCP. */
  readonly wsPath?: string;
}

/** The ws:// URL of a WebSocket host. */
export function wsUrl(h: HostPort): string {
  const host = h.host.includes(':') ? `[${h.host}]` : h.host;
  return `ws://${host}:${h.port}${h.wsPath ?? '/'}`;
}

/** "host:port", or the ws:// URL of a WebSocket host. */
export function hostText(h: HostPort): string {
  return h.wsPath === undefined ? `${h.host}:${h.port}` : wsUrl(h);
}

export interface ConnectString {
  readonly hosts: readonly HostPort[];
  /** '' when there is none; otherwise a valid path other than '/'. */
  readonly chroot: string;
}

function bad(s: string, why: string): never {
  throw new ZkError(Err.badArguments, undefined, { message: `bad connect string '${s}': ${why}` });
}

function parsePort(s: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) bad(s, `port '${text}'`);
  const port = Number(text);
  if (port < 1 || port > portMax) bad(s, `port ${port}`);
  return port;
}

/** Parses a connect string; throws ZkError(badArguments) on a malformed one. */
export function parseConnectString(s: string): ConnectString {
  if (s.includes('://')) return parseWithUrls(s);
  let hostPart = s;
  let chroot = '';
  const slash = s.indexOf('/');
  if (slash >= 0) {
    hostPart = s.slice(0, slash);
    chroot = s.slice(slash);
    if (chroot === '/') chroot = '';
    else if (!isValidPath(chroot)) bad(s, `chroot '${chroot}'`);
  }
  const hosts: HostPort[] = [];
  for (const raw of hostPart.split(',')) {
    const h = raw.trim();
    if (h === '') continue;
    if (h.startsWith('[')) {
      const close = h.indexOf(']');
      if (close < 0) bad(s, `'${h}' has no closing ']'`);
      const host = h.slice(1, close);
      const rest = h.slice(close + 1);
      if (rest !== '' && !rest.startsWith(':')) bad(s, `'${h}'`);
      hosts.push({ host, port: rest === '' ? DEFAULT_PORT : parsePort(s, rest.slice(1)) });
      continue;
    }
    const colon = h.lastIndexOf(':');
    if (colon < 0) {
      hosts.push({ host: h, port: DEFAULT_PORT });
    } else {
      const host = h.slice(0, colon);
      if (host === '') bad(s, `'${h}' has no host`);
      hosts.push({ host, port: colon === h.length - 1 ? DEFAULT_PORT : parsePort(s, h.slice(colon + 1)) });
    }
  }
  if (hosts.length === 0) bad(s, 'no hosts');
  return { hosts, chroot };
}

/** A connect string with ws:// hosts: comma-separated entries, then an optional '#chroot'. */
function parseWithUrls(s: string): ConnectString {
  const hash = s.indexOf('#');
  const hostPart = hash < 0 ? s : s.slice(0, hash);
  let chroot = hash < 0 ? '' : s.slice(hash + 1);
  if (chroot === '/') chroot = '';
  else if (chroot !== '' && !isValidPath(chroot)) bad(s, `chroot '${chroot}'`);
  const hosts: HostPort[] = [];
  for (const raw of hostPart.split(',')) {
    const h = raw.trim();
    if (h === '') continue;
    if (!h.includes('://')) {
      if (h.includes('/')) bad(s, `'${h}': with ws:// hosts a chroot follows '#'`);
      hosts.push(...parseConnectString(h).hosts);
      continue;
    }
    let url: URL;
    try {
      url = new URL(h);
    } catch {
      bad(s, `'${h}' is not a URL`);
    }
    if (url.protocol !== 'ws:') bad(s, `'${h}': only ws:// URLs are hosts`);
    if (url.search !== '' || url.username !== '' || url.password !== '') bad(s, `'${h}': a host URL has no query or user`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (host === '') bad(s, `'${h}' has no host`);
    const port = url.port === '' ? 80 : parsePort(s, url.port);
    hosts.push({ host, port, wsPath: url.pathname === '' ? '/' : url.pathname });
  }
  if (hosts.length === 0) bad(s, 'no hosts');
  return { hosts, chroot };
}

export interface NextHost {
  readonly host: HostPort;
  /** True when every host has been tried since the last successful connection. */
  readonly spin: boolean;
}

export class HostProvider {
  private readonly list: HostPort[];
  private current = -1;
  /** The host of the last successful connection (-1 before the first next()). */
  private last = -1;

  constructor(hosts: readonly HostPort[], shuffle = true, random: () => number = Math.random) {
    if (hosts.length === 0) throw new ZkError(Err.badArguments, undefined, { message: 'no hosts' });
    this.list = hosts.slice();
    if (shuffle) {
      for (let i = this.list.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        const t = this.list[i] as HostPort;
        this.list[i] = this.list[j] as HostPort;
        this.list[j] = t;
      }
    }
  }

  get size(): number {
    return this.list.length;
  }

  /** The hosts in the order they are tried. */
  get hosts(): readonly HostPort[] {
    return this.list;
  }

  next(): NextHost {
    this.current = (this.current + 1) % this.list.length;
    const spin = this.current === this.last;
    if (this.last === -1) this.last = 0;
    return { host: this.list[this.current] as HostPort, spin };
  }

  /** The host last returned by next() took the connection. */
  onConnected(): void {
    this.last = this.current;
  }
}

/** A client path as the server knows it, under `chroot` ('' for none). */
export function serverPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  return path === '/' ? chroot : chroot + path;
}

/** A server path as the client knows it, `chroot` taken off (unchanged when outside it). */
export function stripChroot(chroot: string, serverPath: string): string {
  const c = chroot;
  if (c === '') return serverPath;
  if (serverPath === c) return '/';
  if (serverPath.length > c.length && serverPath.startsWith(c) && serverPath.charCodeAt(c.length) === 0x2f) {
    return serverPath.slice(c.length);
  }
  return serverPath;
}
