// zoo.cfg, as ZooKeeper's QuorumPeerConfig reads it: `key=value` lines, `#` comments. Parsed and
// validated once, before anything starts; every problem is reported together.

import { availableParallelism } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { juteMaxBufferBytesDefault } from '../protocol/limits.js';
import { ipAddressesMaxDefault, ipAddressesMaxMax, ipAddressesMaxMin } from '../shm/limits.js';
import { connThrottleDefaults, connThrottleProblems, type ConnThrottleSettings } from '../shm/connthrottle.js';
import type { HttpEngineChoice } from '../http/app.js';
import { type AdminServerConfig, adminServer, httpEngine, type MetricsProviderConfig, metricsProvider, type WebSocketConfig, webSocket } from './config-http.js';

export type { AdminServerConfig, MetricsProviderConfig, WebSocketConfig } from './config-http.js';
import { clientListenBacklogDefault, clientListenBacklogMax } from './limits.js';
import { type ClientTlsConfig, clientTls, storeType, trustPem } from './config-tls.js';

export interface ServerEntry {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  clientPort: number | null;
}

export interface ServerConfig {
  /** Where the config came from (a file path, or 'embedded default'). */
  source: string;
  clientPort: number;
  /** false when zoo.cfg sets secureClientPort and no clientPort: TLS only (as in ZooKeeper). */
  clientPortEnabled: boolean;
  /** secureClientPort: the TLS client port (config-tls.ts); null when not set. */
  secureClientPort: number | null;
  /** The TLS settings of secureClientPort; null without it. */
  clientTls: ClientTlsConfig | null;
  /** secureClientPortAddress (default: clientPortAddress). */
  secureClientPortAddress: string;
  clientPortAddress: string;
  dataDir: string;
  dataLogDir: string;
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  maxClientCnxns: number;
  /** clientPortListenBacklog (ZooKeeper 3.6+): the listen backlog of the client port, on every
   *  listening socket of it (launcher.ts, the workers' listeners). Linux cuts it to
   *  net.core.somaxconn. */
  clientPortListenBacklog: number;
  /** Connection throttling, ZooKeeper's BlueThrottle (src/shm/connthrottle.ts); tokens 0 = off. */
  connThrottle: ConnThrottleSettings;
  /** Requests in flight server-wide above which connections with a request in flight stop
   *  being read (ZooKeeper's globalOutstandingLimit, default 1000). */
  globalOutstandingLimit: number;
  localSessionsEnabled: boolean;
  localSessionsUpgradingEnabled: boolean;
  fourLetterWhitelist: string[];
  extendedTypesEnabled: boolean;
  juteMaxBufferBytes: number;
  containerCheckIntervalMs: number;
  initLimitTicks: number;
  syncLimitTicks: number;
  servers: ServerEntry[];
  peerType: 'participant' | 'observer';
  /**
   * observerMasterPort (ZooKeeper 3.6+): followers feed observers, so the leader's fan-out does
   * not grow with the observer tier. zkts's quorum transport already connects every pair of
   * members, so the port itself is not listened on: its presence (on the observers' and the
   * voters' configs alike) turns the feature on, and each observer is given a voter, round
   * robin (ensembleObserverMasters). 0 = off.
   */
  observerMasterPort: number;
  // zkts's own keys
  /** Transactions between snapshots (randomised per snapshot, as ZooKeeper does). */
  snapCount: number;
  /** Log file preallocation, bytes (zoo.cfg's preAllocSize is in KiB). */
  preAllocBytes: number;
  /** forceSync=no skips fsync of the txn log (ZooKeeper's zookeeper.forceSync): only for tests
   *  and benchmarks, an acknowledged write may then be lost in a crash. */
  forceSync: boolean;
  snapRetainCount: number;
  /** autopurge.purgeInterval in hours; 0 = off. */
  purgeIntervalHours: number;
  /** Session worker threads; 0: the sessions are served on the main thread (server.ts). */
  sessionWorkers: number;
  /** Distinct client addresses counted for maxClientCnxns at once; a new address past it is
   *  refused (the table fails closed). */
  maxClientAddresses: number;
  logLevel: string;
  /** Shared by every member of an ensemble: session passwords are derived from it. '' (the
   *  default): the ensemble makes a random one and keeps it in its state (sessions/secret.ts). */
  sessionSecret: string;
  /**
   * DigestAuthenticationProvider.superDigest (ZooKeeper's system property
   * zookeeper.DigestAuthenticationProvider.superDigest): "super:<base64 sha1(super:password)>".
   * A client that adds auth digest super:<password> passes every ACL check. null: none.
   */
  superDigest: string | null;
  /**
   * enforceQuota (zookeeper.enforceQuota): a create or setData past a hard limit of
   * /zookeeper/quota fails with QuotaExceeded. Off (ZooKeeper's default), limits are only logged.
   */
  enforceQuota: boolean;
  /** youngGenerationFixed (zkts's own): V8's young generation keeps its initial size in every
   *  thread (README, the tier profile). */
  youngGenerationFixed: boolean;
  /**
   * The shared quorum secret (quorum.secret, or the trimmed contents of quorum.secretFile):
   * ensemble members prove they know it when they connect (net/transport.ts). null: the quorum
   * is unauthenticated, as ZooKeeper's is without quorum SASL or TLS.
   */
  quorumSecret: string | null;
  /**
   * sslQuorum=true: quorum connections run over TLS with ZooKeeper's ssl.quorum.* keys (both
   * ends present a certificate the trust store vouches for); null: plain TCP.
   */
  quorumTls: QuorumTlsConfig | null;
  /** The AdminServer (admin.*): ZooKeeper's HTTP commands; null when admin.enableServer=false. */
  admin: AdminServerConfig | null;
  /** The Prometheus exporter (metricsProvider.*); null unless metricsProvider.className names
   *  ZooKeeper's PrometheusMetricsProvider. */
  metrics: MetricsProviderConfig | null;
  /** httpEngine (zkts's own): which engine serves the HTTP and WebSocket face (src/http/app.ts);
   *  `auto` takes uWebSockets.js wherever a build of it loads. */
  httpEngine: HttpEngineChoice;
  /** webSocketPort / webSocketPath / webSocketAddress (zkts's own): the client frames over
   *  WebSockets, served by the session workers (src/workers/ws-transport.ts); null: off. */
  webSocket: WebSocketConfig | null;
  /** Keys we read but do not act on, and keys we do not know: logged once at start. */
  ignoredKeys: string[];
}

/** The key and trust material of sslQuorum, read from their files at start. */
export interface QuorumTlsConfig {
  /** ssl.quorum.keyStore: a PEM file (private key and certificate chain) or a PKCS12 file. */
  readonly keyStore: { readonly type: 'PEM' | 'PKCS12'; readonly data: Buffer; readonly password: string | null };
  /** ssl.quorum.trustStore (PEM, or PKCS12 converted): PEM certificates of the CAs that sign members' certificates. */
  readonly trustStore: Buffer;
  /** ssl.quorum.hostnameVerification (default true): a dialled member's certificate must name its server.N host. */
  readonly hostnameVerification: boolean;
}

export class ConfigError extends Error {
  readonly code = 'ZKTS_ERR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The defaults ZooKeeper documents, except clientPortAddress (loopback, so `npm start` is safe).
 *  The four-letter-word whitelist is ZooKeeper's: srvr only (cons, dump and wchc print session
 *  ids, envi the environment); tools that want more words list them in the configs they write. */
const defaults: Record<string, string> = {
  clientPort: '2181',
  clientPortAddress: '127.0.0.1',
  dataDir: './data',
  tickTime: '2000',
  maxClientCnxns: '60',
  globalOutstandingLimit: '1000',
  localSessionsEnabled: 'false',
  localSessionsUpgradingEnabled: 'false',
  '4lw.commands.whitelist': 'srvr',
  extendedTypesEnabled: 'false',
  'jute.maxbuffer': String(juteMaxBufferBytesDefault),
  'znode.container.checkIntervalMs': '60000',
  initLimit: '10',
  syncLimit: '5',
  peerType: 'participant',
  logLevel: 'warn',
  forceSync: 'yes',
  sessionSecret: '',
};

/** Keys ZooKeeper knows that zkts accepts without acting on them (yet). */
const acceptedQuietly = new Set([
  'standaloneEnabled',
  'reconfigEnabled',
  'dynamicConfigFile',
  'electionAlg',
  'quorumListenOnAllIPs',
  'syncEnabled',
]);

export function parseConfigText(text: string, source: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError([`${source}: not a key=value line: ${line}`]);
    entries.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return entries;
}

export function loadConfig(path: string | null): ServerConfig {
  if (path === null) return buildConfig(new Map(), 'embedded default');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([`cannot read ${path}: ${(e as Error).message}`]);
  }
  return buildConfig(parseConfigText(text, path), path);
}

class Reader {
  readonly problems: string[] = [];
  readonly used = new Set<string>();
  constructor(private readonly entries: Map<string, string>) {}

  raw(key: string): string | undefined {
    this.used.add(key);
    return this.entries.get(key) ?? defaults[key];
  }
  has(key: string): boolean {
    return this.entries.has(key);
  }
  /** A decimal number (ZooKeeper reads these keys with Double.parseDouble). */
  float(key: string, fallback: number): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) {
      this.problems.push(`${key}=${v}: not a number`);
      return fallback;
    }
    return Number(v);
  }
  int(key: string, fallback: number, min: number, max: number): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) {
      this.problems.push(`${key}=${v}: not an integer`);
      return fallback;
    }
    const n = Number(v);
    if (n < min || n > max) this.problems.push(`${key}=${v}: must be in [${min}, ${max}]`);
    return n;
  }
  bool(key: string): boolean {
    const v = this.raw(key);
    if (v === 'true') return true;
    if (v === 'false' || v === undefined) return false;
    this.problems.push(`${key}=${v}: must be true or false`);
    return false;
  }
  string(key: string): string {
    return this.raw(key) ?? '';
  }
}

function buildConfig(entries: Map<string, string>, source: string): ServerConfig {
  const r = new Reader(entries);
  const tickTimeMs = r.int('tickTime', 2000, 1, 3_600_000);
  const minSessionTimeoutMs = r.has('minSessionTimeout')
    ? r.int('minSessionTimeout', tickTimeMs * 2, 1, 2 ** 31 - 1)
    : tickTimeMs * 2;
  const maxSessionTimeoutMs = r.has('maxSessionTimeout')
    ? r.int('maxSessionTimeout', tickTimeMs * 20, 1, 2 ** 31 - 1)
    : tickTimeMs * 20;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    r.problems.push(
      `minSessionTimeout (${minSessionTimeoutMs}) must not be larger than ` +
        `maxSessionTimeout (${maxSessionTimeoutMs})`,
    );
  }
  const dataDir = resolvePath(r.string('dataDir'));
  const dataLogDir = entries.has('dataLogDir') ? resolvePath(r.string('dataLogDir')) : dataDir;
  const whitelist = r
    .string('4lw.commands.whitelist')
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  const peerType = r.string('peerType');
  if (peerType !== 'participant' && peerType !== 'observer') {
    r.problems.push(`peerType=${peerType}: must be participant or observer`);
  }
  const config: ServerConfig = {
    source,
    clientPort: r.int('clientPort', 2181, 1, 65535),
    clientPortEnabled: entries.has('clientPort') || !entries.has('secureClientPort'),
    secureClientPort: entries.has('secureClientPort') ? r.int('secureClientPort', 0, 1, 65535) : null,
    clientTls: clientTls(r, entries.has('secureClientPort')),
    secureClientPortAddress: r.raw('secureClientPortAddress') ?? r.string('clientPortAddress'),
    clientPortAddress: r.string('clientPortAddress'),
    dataDir,
    dataLogDir,
    tickTimeMs,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    maxClientCnxns: r.int('maxClientCnxns', 60, 0, 2 ** 31 - 1),
    clientPortListenBacklog: listenBacklog(r),
    connThrottle: connThrottle(r),
    globalOutstandingLimit: r.int('globalOutstandingLimit', 1000, 1, 2 ** 30),
    localSessionsEnabled: r.bool('localSessionsEnabled'),
    localSessionsUpgradingEnabled: r.bool('localSessionsUpgradingEnabled'),
    fourLetterWhitelist: whitelist,
    extendedTypesEnabled: r.bool('extendedTypesEnabled'),
    juteMaxBufferBytes: r.int('jute.maxbuffer', juteMaxBufferBytesDefault, 1024, 2 ** 30),
    containerCheckIntervalMs: r.int('znode.container.checkIntervalMs', 60000, 1, 2 ** 31 - 1),
    initLimitTicks: r.int('initLimit', 10, 1, 1_000_000),
    syncLimitTicks: r.int('syncLimit', 5, 1, 1_000_000),
    servers: parseServers(entries, r),
    peerType: peerType === 'observer' ? 'observer' : 'participant',
    observerMasterPort: r.int('observerMasterPort', 0, 0, 65535),
    snapCount: r.int('snapCount', 100_000, 2, 2 ** 31 - 1),
    preAllocBytes: r.int('preAllocSize', 65536, 1, 2 ** 22) * 1024,
    forceSync: r.string('forceSync') !== 'no',
    snapRetainCount: Math.max(3, r.int('autopurge.snapRetainCount', 3, 1, 1_000_000)),
    purgeIntervalHours: r.int('autopurge.purgeInterval', 0, 0, 1_000_000),
    sessionWorkers: r.int('sessionWorkers', defaultWorkerCount(), 0, 32),
    maxClientAddresses: r.int(
      'maxClientAddresses',
      ipAddressesMaxDefault,
      ipAddressesMaxMin,
      ipAddressesMaxMax,
    ),
    logLevel: r.string('logLevel'),
    sessionSecret: r.string('sessionSecret'),
    superDigest: parseSuperDigest(r),
    enforceQuota: r.bool('enforceQuota'),
    youngGenerationFixed: r.bool('youngGenerationFixed'),
    quorumSecret: quorumSecret(r),
    quorumTls: quorumTls(r),
    admin: adminServer(r),
    metrics: metricsProvider(r),
    httpEngine: httpEngine(r),
    webSocket: webSocket(r),
    ignoredKeys: [],
  };
  if (config.clientPortEnabled && config.secureClientPort === config.clientPort) {
    r.problems.push(`secureClientPort=${config.secureClientPort}: the same port as clientPort`);
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    r.problems.push(`logLevel=${config.logLevel}: must be a pino level`);
  }
  for (const key of entries.keys()) {
    if (!r.used.has(key) && !key.startsWith('server.')) config.ignoredKeys.push(key);
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/** clientPortListenBacklog: a positive integer; -1 (ZooKeeper's "unset") is the default. */
function listenBacklog(r: Reader): number {
  const n = r.int('clientPortListenBacklog', clientListenBacklogDefault, -1, clientListenBacklogMax);
  if (n === 0) r.problems.push('clientPortListenBacklog=0: must be positive (or -1 for the default)');
  return n <= 0 ? clientListenBacklogDefault : n;
}

/**
 * The connection throttle's keys. zkts's names are the brief ones (connThrottleTokens ...);
 * ZooKeeper reads the same settings from the system properties zookeeper.connection_throttle_*,
 * which a zoo.cfg sets as connection_throttle_* (unknown keys become zookeeper.<key>), so those
 * spellings are accepted too. Both spellings of one key: a problem.
 */
const connThrottleKeys = [
  ['connThrottleTokens', 'connection_throttle_tokens'],
  ['connThrottleFillTime', 'connection_throttle_fill_time'],
  ['connThrottleFillCount', 'connection_throttle_fill_count'],
  ['connThrottleFreezeTime', 'connection_throttle_freeze_time'],
  ['connThrottleDropIncrease', 'connection_throttle_drop_increase'],
  ['connThrottleDropDecrease', 'connection_throttle_drop_decrease'],
  ['connThrottleDecreaseRatio', 'connection_throttle_decrease_ratio'],
  ['connThrottleWeightEnabled', 'connection_throttle_weight_enabled'],
  ['connThrottleGlobalSessionWeight', 'connection_throttle_global_session_weight'],
  ['connThrottleLocalSessionWeight', 'connection_throttle_local_session_weight'],
  ['connThrottleRenewSessionWeight', 'connection_throttle_renew_session_weight'],
] as const;

function connThrottle(r: Reader): ConnThrottleSettings {
  const key = (i: number): string => {
    const [name, zk] = connThrottleKeys[i]!;
    if (r.has(name) && r.has(zk)) r.problems.push(`${name} and ${zk}: the same setting, set one of them`);
    return r.has(zk) ? zk : name;
  };
  const d = connThrottleDefaults;
  const before = r.problems.length;
  const big = 2 ** 31 - 1;
  const s: ConnThrottleSettings = {
    tokens: r.int(key(0), d.tokens, 0, big),
    fillTimeMs: r.int(key(1), d.fillTimeMs, 1, big),
    fillCount: r.int(key(2), d.fillCount, 1, big),
    freezeTimeMs: r.int(key(3), d.freezeTimeMs, -1, big),
    dropIncrease: r.float(key(4), d.dropIncrease),
    dropDecrease: r.float(key(5), d.dropDecrease),
    decreaseRatio: r.float(key(6), d.decreaseRatio),
    weightEnabled: r.bool(key(7)),
    globalSessionWeight: r.int(key(8), d.globalSessionWeight, 1, 1000),
    localSessionWeight: r.int(key(9), d.localSessionWeight, 1, 1000),
    renewSessionWeight: r.int(key(10), d.renewSessionWeight, 1, 1000),
  };
  if (r.problems.length === before) r.problems.push(...connThrottleProblems(s));
  return s;
}

/** quorum.secret or quorum.secretFile (not both); a secret file is read here, once. */
function quorumSecret(r: Reader): string | null {
  const inline = r.raw('quorum.secret');
  const file = r.raw('quorum.secretFile');
  if (inline !== undefined && file !== undefined) {
    r.problems.push('quorum.secret and quorum.secretFile: set one of them');
    return null;
  }
  let secret = inline ?? null;
  if (file !== undefined) {
    try {
      secret = readFileSync(resolvePath(file), 'utf8').trim();
    } catch (e) {
      r.problems.push(`quorum.secretFile=${file}: ${(e as Error).message}`);
      return null;
    }
  }
  if (secret !== null && secret.length < quorumSecretCharsMin) {
    r.problems.push(`quorum secret: at least ${quorumSecretCharsMin} characters`);
    return null;
  }
  return secret;
}

/**
 * sslQuorum and ssl.quorum.* (ZooKeeper's names). Store types come from ssl.quorum.*.type or the
 * file name (.pem / .crt / .key: PEM, .p12 / .pfx: PKCS12); JKS is not readable here (convert it
 * with keytool -importkeystore to PKCS12). The trust store: PEM, or PKCS12 read with its password.
 */
function quorumTls(r: Reader): QuorumTlsConfig | null {
  const on = r.bool('sslQuorum');
  const keyPath = r.raw('ssl.quorum.keyStore.location');
  const keyPassword = r.raw('ssl.quorum.keyStore.password') ?? null;
  const keyType = r.raw('ssl.quorum.keyStore.type');
  const trustPath = r.raw('ssl.quorum.trustStore.location');
  const trustType = r.raw('ssl.quorum.trustStore.type');
  const trustPassword = r.raw('ssl.quorum.trustStore.password') ?? null;
  const verifyRaw = r.raw('ssl.quorum.hostnameVerification') ?? 'true';
  if (!on) return null;
  if (keyPath === undefined || trustPath === undefined) {
    r.problems.push('sslQuorum=true needs ssl.quorum.keyStore.location and ssl.quorum.trustStore.location');
    return null;
  }
  const type = storeType(keyType, keyPath);
  const ttype = storeType(trustType, trustPath);
  if (type === null || ttype === null) {
    r.problems.push(`ssl.quorum: key store ${keyPath} and trust store ${trustPath} must be PEM or PKCS12 (JKS: convert with keytool -importkeystore -deststoretype PKCS12)`);
    return null;
  }
  if (verifyRaw !== 'true' && verifyRaw !== 'false') r.problems.push(`ssl.quorum.hostnameVerification=${verifyRaw}: must be true or false`);
  try {
    return {
      keyStore: { type, data: readFileSync(resolvePath(keyPath)), password: keyPassword },
      trustStore: trustPem(ttype, readFileSync(resolvePath(trustPath)), trustPassword),
      hostnameVerification: verifyRaw !== 'false',
    };
  } catch (e) {
    r.problems.push(`ssl.quorum: ${(e as Error).message}`);
    return null;
  }
}

/** A quorum secret shorter than this is refused (it would be guessable offline from one handshake). */
export const quorumSecretCharsMin = 16;

/**
 * Observer id -> the voter that feeds it, when observerMasterPort is set: observers and voters
 * in id order, observer k gets voter k mod |voters| (ZooKeeper's observers pick a random
 * follower). While a leader leads, zab/observer-master.ts observerMasterOf spreads the listed
 * observers over its followers in turn instead, so the leader feeds none; one whose master is
 * down learns from another live follower until that member is back (zab/learner.ts).
 */
export function ensembleObserverMasters(cfg: ServerConfig): Map<number, number> {
  const out = new Map<number, number>();
  if (cfg.observerMasterPort === 0) return out;
  const voters = cfg.servers.filter((s) => s.role === 'participant').map((s) => s.id).sort((a, b) => a - b);
  const observers = cfg.servers.filter((s) => s.role === 'observer').map((s) => s.id).sort((a, b) => a - b);
  if (voters.length === 0) return out;
  observers.forEach((o, k) => out.set(o, voters[k % voters.length]!));
  return out;
}

/** "super:" + the base64 of a SHA-1 (28 characters), as generateDigest("super:<password>") makes. */
function parseSuperDigest(r: Reader): string | null {
  const key = 'DigestAuthenticationProvider.superDigest';
  if (!r.has(key)) return null;
  const v = r.string(key);
  if (!/^super:[A-Za-z0-9+/]{27}=$/.test(v)) {
    r.problems.push(`${key}=${v}: must be super:<base64 SHA-1 digest>, as DigestAuthenticationProvider.generateDigest makes it`);
    return null;
  }
  return v;
}

/** Reads dataDir/myid (as QuorumPeerConfig does). */
export function readMyId(dataDir: string): number {
  const path = join(dataDir, 'myid');
  if (!existsSync(path)) throw new Error(`${path} is missing: an ensemble member needs its id there`);
  const text = readFileSync(path, 'utf8').trim();
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id)) throw new Error(`${path}: "${text}" is not a server id`);
  return id;
}

export function isQuietlyAccepted(key: string): boolean {
  return acceptedQuietly.has(key);
}

/** Relative paths are relative to the working directory, as ZooKeeper's are. */
function resolvePath(p: string): string {
  return resolve(p);
}

function defaultWorkerCount(): number {
  return Math.max(1, Math.min(32, availableParallelism()));
}

/** server.N=host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort] */
function parseServers(entries: Map<string, string>, r: Reader): ServerEntry[] {
  const servers: ServerEntry[] = [];
  for (const [key, value] of entries) {
    const m = /^server\.(\d+)$/.exec(key);
    if (m === null) continue;
    const id = Number(m[1]);
    const [addr = '', client] = value.split(';');
    const parts = addr.split(':');
    const [host = '', qp = '', ep = '', role = 'participant'] = parts;
    const quorumPort = Number(qp);
    const electionPort = Number(ep);
    const bad = (why: string): void => void r.problems.push(`${key}=${value}: ${why}`);
    const isPort = (s: string, n: number): boolean => /^\d+$/.test(s) && n >= 1 && n <= 65535;
    if (host === '' || !isPort(qp, quorumPort) || !isPort(ep, electionPort)) {
      bad('expected host:quorumPort:electionPort');
      continue;
    }
    if (role !== 'participant' && role !== 'observer') {
      bad('role must be participant or observer');
      continue;
    }
    let clientPort: number | null = null;
    if (client !== undefined) {
      const port = Number(client.split(':').pop());
      if (!Number.isInteger(port)) bad('bad client port');
      else clientPort = port;
    }
    servers.push({ id, host, quorumPort, electionPort, role, clientPort });
  }
  return servers.sort((a, b) => a.id - b.id);
}
