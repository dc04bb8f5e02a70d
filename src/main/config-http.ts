// zoo.cfg keys of the HTTP and WebSocket face (issue 12): admin.* (ZooKeeper's AdminServer),
// metricsProvider.* (its Prometheus provider), and zkts's own httpEngine and webSocket* keys.
// config.ts reads the file and calls these with its key reader.

import { type HttpEngineChoice, httpEngineChoices } from '../http/app.js';

/** The part of config.ts's key reader these parsers use. */
export interface HttpKeyReader {
  readonly problems: string[];
  raw(key: string): string | undefined;
  has(key: string): boolean;
  bool(key: string): boolean;
  int(key: string, fallback: number, min: number, max: number): number;
  string(key: string): string;
}

/** admin.* as ZooKeeper 3.8's JettyAdminServer reads them. */
export interface AdminServerConfig {
  /** admin.serverAddress (default 0.0.0.0) */
  readonly host: string;
  /** admin.serverPort (default 8080) */
  readonly port: number;
  /** admin.commandURL (default /commands): commands are served at <commandURL>/<name>. */
  readonly commandUrl: string;
}

/** metricsProvider.* as ZooKeeper's PrometheusMetricsProvider reads them. */
export interface MetricsProviderConfig {
  /** metricsProvider.httpHost (default 0.0.0.0) */
  readonly host: string;
  /** metricsProvider.httpPort (default 7000) */
  readonly port: number;
  /** metricsProvider.exportJvmInfo (default true): zkts exports Node's process figures instead. */
  readonly exportProcessInfo: boolean;
}

/** metricsProvider.className that turns the Prometheus exporter on. */
export const prometheusMetricsProviderClass = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

/** webSocketPort / webSocketPath / webSocketAddress (zkts's own): the WebSocket client transport. */
export interface WebSocketConfig {
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

/** admin.*: on by default, as in ZooKeeper (a port already taken is logged, not fatal). */
export function adminServer(r: HttpKeyReader): AdminServerConfig | null {
  const on = r.has('admin.enableServer') ? r.bool('admin.enableServer') : true;
  const host = r.raw('admin.serverAddress') ?? '0.0.0.0';
  const port = r.int('admin.serverPort', 8080, 1, 65535);
  let commandUrl = r.raw('admin.commandURL') ?? '/commands';
  if (!commandUrl.startsWith('/')) commandUrl = `/${commandUrl}`;
  if (commandUrl.length > 1 && commandUrl.endsWith('/')) commandUrl = commandUrl.slice(0, -1);
  return on ? { host, port, commandUrl } : null;
}

export function metricsProvider(r: HttpKeyReader): MetricsProviderConfig | null {
  const className = r.raw('metricsProvider.className');
  const host = r.raw('metricsProvider.httpHost') ?? '0.0.0.0';
  const port = r.int('metricsProvider.httpPort', 7000, 1, 65535);
  const exportRaw = r.raw('metricsProvider.exportJvmInfo') ?? 'true';
  if (exportRaw !== 'true' && exportRaw !== 'false') r.problems.push(`metricsProvider.exportJvmInfo=${exportRaw}: must be true or false`);
  if (className === undefined || className === '') return null;
  if (className !== prometheusMetricsProviderClass && className !== 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider') {
    r.problems.push(`metricsProvider.className=${className}: zkts has ${prometheusMetricsProviderClass} only`);
    return null;
  }
  if (className !== prometheusMetricsProviderClass) return null;
  return { host, port, exportProcessInfo: exportRaw !== 'false' };
}

export function httpEngine(r: HttpKeyReader): HttpEngineChoice {
  const v = r.raw('httpEngine') ?? 'auto';
  if ((httpEngineChoices as readonly string[]).includes(v)) return v as HttpEngineChoice;
  r.problems.push(`httpEngine=${v}: must be one of ${httpEngineChoices.join(', ')}`);
  return 'auto';
}

export function webSocket(r: HttpKeyReader): WebSocketConfig | null {
  const port = r.int('webSocketPort', 0, 0, 65535);
  const path = r.raw('webSocketPath') ?? '/zookeeper';
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(path)) r.problems.push(`webSocketPath=${path}: must be a path, e.g. /zookeeper`);
  const host = r.raw('webSocketAddress') ?? r.string('clientPortAddress');
  return port === 0 ? null : { host, port, path };
}
