// The other members' figures for the status page: each is asked over its client port with a
// four-letter word, as an operator would (mntr; srvr where mntr is not whitelisted: ZooKeeper's
// default 4lw.commands.whitelist is srvr alone). One question per member at a time, each bounded
// in time and size; a member that does not answer is shown so, and never stalls the page.

import net from 'node:net';
import type { Logger } from '../logger.js';
import { statusPeerProbeTimeoutMs, statusPeerReplyBytesMax } from './limits.js';
import type { MemberConfig, PeerFigures, PeerProbeResult } from './snapshot.js';

const notWhitelisted = /is not executed because it is not in the whitelist/;

export class PeerProbes {
  private readonly results = new Map<number, PeerProbeResult>();
  private readonly inFlight = new Set<number>();
  /** Members that refused mntr: asked with srvr from then on. */
  private readonly srvrOnly = new Set<number>();

  constructor(
    private readonly members: readonly MemberConfig[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a question to each member that has none in flight; the answers land in `latest`. */
  poke(): void {
    for (const m of this.members) {
      if (m.clientPort === null || this.inFlight.has(m.id)) continue;
      this.inFlight.add(m.id);
      void this.probe(m, m.clientPort).finally(() => this.inFlight.delete(m.id));
    }
  }

  latest(): ReadonlyMap<number, PeerProbeResult> {
    return this.results;
  }

  private async probe(m: MemberConfig, port: number): Promise<void> {
    try {
      let word: 'mntr' | 'srvr' = this.srvrOnly.has(m.id) ? 'srvr' : 'mntr';
      let text = await fourLetterWord(m.host, port, word);
      if (word === 'mntr' && notWhitelisted.test(text)) {
        this.srvrOnly.add(m.id);
        word = 'srvr';
        text = await fourLetterWord(m.host, port, word);
      }
      if (notWhitelisted.test(text)) {
        this.results.set(m.id, { atMs: this.now(), figures: null, error: 'neither mntr nor srvr is in its 4lw.commands.whitelist' });
        return;
      }
      const figures = word === 'mntr' ? parseMntr(text) : parseSrvr(text);
      this.results.set(m.id, { atMs: this.now(), figures, error: figures.mode === null ? `no answer to ${word}` : null });
    } catch (e) {
      // A member that is down or restarting: expected in an ensemble, so not a warning.
      const error = (e as Error).message;
      this.logger.debug({ member: m.id, host: m.host, port, err: error }, 'status page: member did not answer');
      this.results.set(m.id, { atMs: this.now(), figures: null, error: `no answer: ${error}` });
    }
  }
}

/** Sends `word` to host:port and returns what comes back before the server closes. */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = statusPeerProbeTimeoutMs): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const chunks: Buffer[] = [];
    let bytes = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${word} on ${host}:${port}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => s.write(word));
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > statusPeerReplyBytesMax) {
        clearTimeout(timer);
        s.destroy();
        reject(new Error(`${word} on ${host}:${port}: answer over ${statusPeerReplyBytesMax} bytes`));
        return;
      }
      chunks.push(d);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** mntr's `key<TAB>value` lines (MonitorCommand) to the page's figures. */
export function parseMntr(text: string): PeerFigures {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) kv.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  const num = (k: string): number | null => numberOrNull(kv.get(k));
  const local = num('zk_local_sessions');
  const global = num('zk_global_sessions');
  return {
    word: 'mntr',
    mode: kv.get('zk_server_state') ?? null,
    zxid: zxidOrNull(kv.get('zk_zxid')),
    nodeCount: num('zk_znode_count'),
    sessions: local === null || global === null ? null : { local, global },
    packetsReceived: num('zk_packets_received'),
    avgLatencyMs: num('zk_avg_latency'),
    connections: num('zk_num_alive_connections'),
    workerSessions: parseWorkerSessions(kv.get('zk_worker_sessions')),
  };
}

/** mntr's zk_worker_sessions ("0/3,1/2": local/global per worker); null when absent (Apache,
 *  or an older zkts) or malformed. */
export function parseWorkerSessions(s: string | undefined): { local: number; global: number }[] | null {
  if (s === undefined || !/^\d+\/\d+(,\d+\/\d+)*$/.test(s)) return null;
  return s.split(',').map((pair) => {
    const [local = 0, global = 0] = pair.split('/').map(Number);
    return { local, global };
  });
}

/** srvr's `Name: value` lines (StatCommand without clients). It has no session counts. */
export function parseSrvr(text: string): PeerFigures {
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const latency = field('Latency min/avg/max')?.split('/');
  return {
    word: 'srvr',
    mode: field('Mode') ?? null,
    zxid: zxidOrNull(field('Zxid')),
    nodeCount: numberOrNull(field('Node count')),
    sessions: null,
    packetsReceived: numberOrNull(field('Received')),
    avgLatencyMs: numberOrNull(latency?.[1]),
    connections: numberOrNull(field('Connections')),
    workerSessions: null,
  };
}

function numberOrNull(s: string | undefined): number | null {
  if (s === undefined || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** 0x-prefixed hex, as ZooKeeper prints a zxid; null when it is not one or not a safe integer. */
function zxidOrNull(s: string | undefined): number | null {
  if (s === undefined || !/^0x[0-9a-f]{1,16}$/i.test(s)) return null;
  const n = Number.parseInt(s.slice(2), 16);
  return Number.isSafeInteger(n) ? n : null;
}
