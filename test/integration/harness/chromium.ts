// Headless Chromium (Debian `chromium`) driven over the Chrome DevTools Protocol, with the `ws`
// package and no puppeteer: launch with --remote-debugging-port, attach to its page target, then
// navigate, evaluate and screenshot. Every step has a bounded timeout, and the browser (its own
// process group) is ended by its PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';

export const chromiumPath = process.env['ZKTS_CHROMIUM'] ?? '/usr/bin/chromium';

const stepTimeoutMs = 15_000;

export interface Browser {
  readonly pid: number;
  navigate(url: string): Promise<void>;
  /** The value of a JavaScript expression in the page (returned by value). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the whole page (beyond the viewport where it is longer). */
  screenshot(): Promise<Buffer>;
  /** What Chromium wrote on stderr (the last 64 KiB). */
  logs(): string;
  close(): Promise<void>;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return (await r.json()) as T;
}

/** Starts Chromium headless with its DevTools on 127.0.0.1:debugPort and attaches to its page. */
export async function launchChromium(debugPort: number, startTimeoutMs = 30_000): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'zkts-chromium-'));
  const args = [
    '--headless',
    // As root (the test machine) Chromium refuses to start with its sandbox.
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-extensions',
    '--disable-background-networking',
    '--window-size=1280,900',
    '--remote-debugging-address=127.0.0.1',
    `--remote-debugging-port=${debugPort}`,
    `--user-data-dir=${profile}`,
    'about:blank',
  ];
  const child: ChildProcess = spawn(chromiumPath, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-65536);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${chromiumPath}`);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => (exited = true));

  const kill = async (): Promise<void> => {
    // Its own process group (detached): the browser and its renderers, by the PID we started.
    const signalGroup = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    if (!exited) {
      signalGroup('SIGTERM');
      await Promise.race([exit, sleep(5000)]);
    }
    signalGroup('SIGKILL');
    await Promise.race([exit, sleep(5000)]);
    rmSync(profile, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + startTimeoutMs;
    let pageUrl: string | undefined;
    while (pageUrl === undefined) {
      if (exited) throw new Error(`chromium exited at start:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`chromium's DevTools did not answer on port ${debugPort} within ${startTimeoutMs} ms:\n${stderr}`);
      try {
        const targets = await json<{ type: string; webSocketDebuggerUrl?: string }[]>(`http://127.0.0.1:${debugPort}/json/list`);
        pageUrl = targets.find((t) => t.type === 'page' && t.webSocketDebuggerUrl !== undefined)?.webSocketDebuggerUrl;
      } catch {
        // not up yet
      }
      if (pageUrl === undefined) await sleep(100);
    }
    const ws = new WebSocket(pageUrl, { maxPayload: 256 << 20 });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('CDP socket did not open')), stepTimeoutMs);
      ws.once('open', () => {
        clearTimeout(t);
        resolve();
      });
      ws.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    return cdpBrowser(pid, ws, () => stderr, kill);
  } catch (e) {
    await kill();
    throw e;
  }
}

function cdpBrowser(pid: number, ws: WebSocket, logs: () => string, kill: () => Promise<void>): Browser {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id === undefined) return; // an event
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error !== undefined) p.reject(new Error(`CDP: ${m.error.message}`));
    else p.resolve(m.result);
  });
  ws.on('close', () => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('CDP socket closed'));
    }
    pending.clear();
  });
  const send = <T>(method: string, params: object = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`CDP ${method}: no answer within ${stepTimeoutMs} ms`));
      }, stepTimeoutMs);
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    pid,
    async navigate(url) {
      const r = await send<{ errorText?: string }>('Page.navigate', { url });
      if (r.errorText !== undefined) throw new Error(`navigate ${url}: ${r.errorText}`);
    },
    async evaluate<T>(expression: string) {
      const r = await send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true });
      if (r.exceptionDetails !== undefined) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
      return r.result.value as T;
    },
    async screenshot() {
      const m = await send<{ cssContentSize: { width: number; height: number } }>('Page.getLayoutMetrics');
      const clip = { x: 0, y: 0, width: Math.ceil(m.cssContentSize.width), height: Math.ceil(m.cssContentSize.height), scale: 1 };
      const r = await send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip });
      return Buffer.from(r.data, 'base64');
    },
    logs,
    async close() {
      ws.terminate();
      await kill();
    },
  };
}
