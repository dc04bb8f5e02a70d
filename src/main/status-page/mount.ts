// The live status page on the AdminServer's app (issue 12 item 5):
//
//   GET /status            the page (HTML; its script and style at /status/page.js, page.css)
//   GET /status/snapshot   one snapshot as JSON (what the page gets), for scripts and curl
//   WS  /status/ws         a snapshot every statusPushIntervalMs while at least one page is open
//
// Nothing is gathered while no page is connected: the timer runs only between the first open and
// the last close. Each push asks the session workers for their counters once (FourLetterWords
// collect), reads this member's state and Zab view, and starts a four-letter word to each other
// member whose answer the next push shows (peers.ts), so a slow member never delays a push.

import type { HttpApp, HttpReply, WsSocket } from '../../http/app.js';
import type { ServerConfig } from '../config.js';
import type { MemberView } from '../ensemble/member-view.js';
import type { StatsSection, WorkerStats } from '../../shm/admin.js';
import type { Logger } from '../logger.js';
import {
  statusPushIntervalMs,
  statusViewerBufferedBytesMax,
  statusViewerMessageBytesMax,
  statusViewersMax,
  statusWorkerStatsWaitMs,
} from './limits.js';
import { pageCss, pageHtml, pageScript } from './page.js';
import { PeerProbes } from './peers.js';
import { SnapshotBuilder, type MemberConfig, type StatusSnapshot, type WorkerSample } from './snapshot.js';

/** What the page reads of the server; server.ts passes its own objects (structurally). */
export interface StatusSources {
  readonly cfg: ServerConfig;
  readonly myId: number;
  /** The main thread's state: its database and session table (Core). */
  readonly core: {
    readonly db: { readonly lastZxid: number; readonly tree: { readonly zkNodeCount: number } };
    readonly sessions: { readonly counts: { global: number; local: number } };
  };
  /** The session workers' statistics (FourLetterWords.collect). */
  readonly words: { collect(sections: StatsSection[]): Promise<WorkerStats[]> };
  /** The ensemble driver; null standalone. */
  readonly driver: { mode(): string; memberView(): MemberView } | null;
  readonly logger: Logger;
}

const noStore = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/** The members the page lists: the server.N lines, or this server alone. */
export function membersOf(cfg: ServerConfig, myId: number): MemberConfig[] {
  if (cfg.servers.length === 0) {
    return [{ id: myId, host: cfg.clientPortAddress, clientPort: cfg.clientPort, role: 'standalone' }];
  }
  return cfg.servers.map((s) => ({
    id: s.id,
    host: s.host,
    // This member's own client port is known even when its line does not say it.
    clientPort: s.id === myId ? cfg.clientPort : s.clientPort,
    role: s.role,
  }));
}

export class StatusPage {
  private readonly viewers = new Set<WsSocket>();
  private readonly members: MemberConfig[];
  private readonly probes: PeerProbes;
  private readonly builder = new SnapshotBuilder();
  private timer: NodeJS.Timeout | null = null;
  private building: Promise<StatusSnapshot> | null = null;
  private lastWorkers: WorkerSample[] | null = null;
  /** The workers' answer being waited for: never more than one question out at a time. */
  private collecting: Promise<WorkerStats[]> | null = null;

  constructor(private readonly s: StatusSources) {
    this.members = membersOf(s.cfg, s.myId);
    this.probes = new PeerProbes(
      this.members.filter((m) => m.id !== s.myId),
      s.logger,
    );
  }

  mount(app: HttpApp): void {
    const page = (body: string, contentType: string): HttpReply => ({ status: 200, body, contentType, headers: noStore });
    app.get('/status', () => page(pageHtml, 'text/html; charset=utf-8'));
    app.get('/status/page.js', () => page(pageScript, 'text/javascript; charset=utf-8'));
    app.get('/status/page.css', () => page(pageCss, 'text/css; charset=utf-8'));
    app.get('/status/snapshot', async () => page(JSON.stringify(await this.snapshot()), 'application/json'));
    app.ws('/status/ws', {
      maxMessageBytes: statusViewerMessageBytesMax,
      open: (ws) => this.open(ws),
      message: (ws) => {
        // The page never sends: anything else talking here is not the page.
        this.s.logger.warn({ remote: ws.remoteAddress }, 'status page: a viewer sent a message; closing it');
        ws.end(1003, 'the status page socket takes no messages');
      },
      close: (ws) => this.closed(ws),
    });
  }

  /** Viewers connected now (for tests). */
  get viewerCount(): number {
    return this.viewers.size;
  }

  private open(ws: WsSocket): void {
    if (this.viewers.size >= statusViewersMax) {
      this.s.logger.warn({ remote: ws.remoteAddress, viewers: this.viewers.size }, 'status page: too many viewers; closing the new one');
      ws.end(1013, `at most ${statusViewersMax} status pages at once`);
      return;
    }
    this.viewers.add(ws);
    if (this.timer === null) {
      this.timer = setInterval(() => this.push(), statusPushIntervalMs);
      this.timer.unref();
    }
    this.push(); // the new page fills at once
  }

  private closed(ws: WsSocket): void {
    this.viewers.delete(ws);
    if (this.viewers.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private push(): void {
    if (this.building !== null) return; // the last one is still gathering: at most one at a time
    void this.snapshot().then(
      (snap) => {
        const text = JSON.stringify(snap);
        for (const ws of this.viewers) {
          if (ws.isOpen && ws.bufferedBytes() <= statusViewerBufferedBytesMax) ws.send(text, false);
        }
      },
      (e: unknown) => this.s.logger.error({ err: e }, 'status page: snapshot failed'),
    );
  }

  /** One snapshot; concurrent askers share the one being built. */
  snapshot(): Promise<StatusSnapshot> {
    if (this.building === null) {
      this.building = this.build().finally(() => {
        this.building = null;
      });
    }
    return this.building;
  }

  /** The workers' counters: a new question, or the one still out (a late answer still counts). */
  private workerStats(): Promise<WorkerStats[]> {
    if (this.collecting === null) {
      const asked = this.s.words.collect(['counts']);
      const clear = (): void => {
        if (this.collecting === asked) this.collecting = null;
      };
      asked.then(clear, clear);
      this.collecting = asked;
    }
    return this.collecting;
  }

  private async build(): Promise<StatusSnapshot> {
    this.probes.poke();
    const stats = await withTimeout(this.workerStats(), statusWorkerStatsWaitMs);
    const fresh = stats?.flatMap((w) => (w.counts === undefined ? [] : [{ workerIndex: w.workerIndex, counts: w.counts }]));
    if (fresh !== undefined) this.lastWorkers = fresh;
    const { core, driver } = this.s;
    return this.builder.build({
      atMs: Date.now(),
      self: {
        id: this.s.myId,
        mode: driver?.mode() ?? 'standalone',
        zxid: core.db.lastZxid,
        nodeCount: core.db.tree.zkNodeCount,
        sessions: { ...core.sessions.counts },
      },
      members: this.members,
      workers: this.lastWorkers,
      workersStale: fresh === undefined,
      zab: driver?.memberView() ?? null,
      peers: this.probes.latest(),
    });
  }
}

/** Mounts the status page on the AdminServer's app (server.ts calls it in its mount). */
export function mountStatusPage(app: HttpApp, sources: StatusSources): StatusPage {
  const page = new StatusPage(sources);
  page.mount(app);
  return page;
}

/** `p`'s value, or undefined when it takes longer than `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
