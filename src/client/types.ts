// The client API's option, state and result types (exported by src/client/index.ts).

import type { ACL, Stat } from '../protocol/types.js';
import type { Watcher } from './watches.js';

export type ClientState =
  | 'connecting'
  | 'connected'
  | 'connectedReadOnly'
  | 'disconnected'
  | 'expired'
  | 'closed'
  | 'authFailed';

export interface AuthInfo {
  scheme: string;
  auth: Uint8Array | string;
}

export interface ClientOptions {
  /** Requested session timeout; the server negotiates it into its [min, max]. Default 30000. */
  sessionTimeoutMs?: number;
  /** Resume this session (with `password`) instead of creating one. */
  sessionId?: bigint;
  password?: Uint8Array;
  /** zkts only: ask for a local session (a trailing ConnectRequest byte, sent only when true). */
  localSession?: boolean;
  /** Accept a read-only server (ConnectRequest.readOnly). Default false. */
  readOnly?: boolean;
  /** Credentials sent at every (re)connect, as addAuth() adds them. */
  auth?: readonly AuthInfo[];
  /** Pause after every host has been tried without success. Default 1000. */
  retryDelayMs?: number;
  /** Local address to connect from (e.g. 127.0.0.2): a load generator spreads sessions over
   *  several loopback source addresses to get past one address's ephemeral ports. */
  localAddress?: string;
  /** Random pause of 0..this before each reconnect attempt (not the first connect). Default 1000. */
  reconnectJitterMs?: number;
  /** Per-attempt connect timeout; default the session timeout / host count. */
  connectTimeoutMs?: number;
  /** Shuffle the connect string's hosts (StaticHostProvider). Default true. */
  shuffleHosts?: boolean;
  /** Largest reply frame accepted. Default 4 MiB. */
  maxFrameBytes?: number;
  /** Connect with TLS (a server's secureClientPort), as the Java client does with
   *  zookeeper.client.secure=true. */
  tls?: ClientTlsOptions;
}

/** TLS to the server: node:tls's connect options that matter here. */
export interface ClientTlsOptions {
  /** CA certificates (PEM) the server's certificate must chain to; default Node's roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate chain and key (PEM), for ssl.clientAuth=need|want (and x509 ACLs). */
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** A PKCS12 bundle instead of cert + key. */
  pfx?: string | Buffer;
  /** Check the server's certificate (default true); its name is checked against the host. */
  rejectUnauthorized?: boolean;
  /** SNI and the name checked, when it differs from the connect string's host. */
  servername?: string;
}

/** `true`: the client's default watcher (client 'watch' event and watchEmitter(path)). */
export type WatchArg = Watcher | boolean | undefined;

export interface DataResult {
  data: Buffer | null;
  stat: Stat;
}
export interface ChildrenResult {
  children: string[];
  stat: Stat;
}
export interface ACLResult {
  acl: ACL[];
  stat: Stat;
}
export interface CreateResult {
  path: string;
  stat: Stat;
}
export interface ClientInfo {
  authScheme: string;
  user: string;
}
