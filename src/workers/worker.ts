// Session worker thread entry (wiring only). The main thread starts it with
//
//   new Worker(new URL('../workers/worker.js', import.meta.url), { workerData: init })
//
// where `init` is a WorkerInit (src/shm/admin.ts), and talks to it through the channel rings
// (src/shm/records.ts) and the few parentPort messages of src/shm/admin.ts.
//
// With sessionWorkers=0 (a lean observer, issue 11 goal 2) there is no thread: the main thread
// loads this module by the same URL and calls serveOnThisThread with one end of a
// MessageChannel; the same code then serves the sessions in the main isolate, and the rings'
// doorbells still ring (an Atomics.notify wakes an Atomics.waitAsync of the same thread).

import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { MainToWorkerMessage, WorkerInit, WorkerToMainMessage } from '../shm/admin.js';
import { IpCountTable } from '../shm/ipcount.js';
import { SharedStatus } from '../shm/status.js';
import { Bridge } from './bridge.js';
import {
  globalOutstandingLimitMax,
  juteMaxBufferBytesMin,
  serverIdMax,
  tickTimeMsMax,
  workerCountMax,
  workerIndexMax,
} from './limits.js';
import { createWorkerLog } from './log.js';
import { SessionWorker } from './server.js';

export type { WorkerInit } from '../shm/admin.js';

/** Every problem with a WorkerInit, or [] (fail fast, listing them all). */
export function validateWorkerInit(init: WorkerInit): string[] {
  const problems: string[] = [];
  const int = (name: string, v: unknown, min: number, max: number): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  };
  int('workerIndex', init.workerIndex, 0, workerIndexMax);
  int('workerCount', init.workerCount, 1, workerCountMax);
  int('serverId', init.serverId, 0, serverIdMax);
  int('tickTimeMs', init.tickTimeMs, 1, tickTimeMsMax);
  int('minSessionTimeoutMs', init.minSessionTimeoutMs, 1, 0x7fffffff);
  int('maxSessionTimeoutMs', init.maxSessionTimeoutMs, init.minSessionTimeoutMs, 0x7fffffff);
  int('maxClientCnxns', init.maxClientCnxns, 0, 0x7fffffff);
  int('globalOutstandingLimit', init.globalOutstandingLimit, 1, globalOutstandingLimitMax);
  int('juteMaxBufferBytes', init.juteMaxBufferBytes, juteMaxBufferBytesMin, 0x7fffffff);
  const sab = (name: string, v: unknown): void => {
    if (!(v instanceof SharedArrayBuffer)) problems.push(`${name} must be a SharedArrayBuffer`);
  };
  sab('channel.toMain', init.channel?.toMain);
  sab('channel.toWorker', init.channel?.toWorker);
  sab('status', init.status);
  sab('ipCounts', init.ipCounts);
  sab('connThrottle', init.connThrottle);
  sab('metrics', init.metrics);
  sab('tlsCounters', init.tlsCounters);
  const spec = (name: string, l: WorkerInit['listen']): void => {
    if (l?.mode !== 'fd' && l?.mode !== 'reusePort') {
      problems.push(`${name}.mode must be 'fd' or 'reusePort'`);
    }
    if (l?.mode === 'fd') int(`${name}.fd`, l.fd, 0, 0x7fffffff);
    int(`${name}.backlog`, l?.backlog, 1, 0x7fffffff);
  };
  if (init.listen !== null) spec('listen', init.listen);
  if (init.secureListen !== null) spec('secureListen', init.secureListen);
  if (init.listen === null && init.secureListen === null) problems.push('listen or secureListen must be given');
  if ((init.secureListen === null) !== (init.tls === null)) problems.push('secureListen and tls come together');
  if (typeof init.sessionSecret !== 'string') problems.push('sessionSecret must be a string');
  if (init.superDigest !== null && typeof init.superDigest !== 'string') {
    problems.push('superDigest must be a string or null');
  }
  const ws = init.webSocket ?? null;
  if (ws !== null && typeof ws === 'object') {
    int('webSocket.port', ws.port, 1, 65535);
    if (typeof ws.path !== 'string' || !ws.path.startsWith('/')) problems.push('webSocket.path must start with /');
    if (!['auto', 'uws', 'node'].includes(ws.engine)) problems.push('webSocket.engine must be auto, uws or node');
  } else if (ws !== null) {
    problems.push('webSocket must be an object or null');
  }
  if (!Array.isArray(init.fourLetterWhitelist)) {
    problems.push('fourLetterWhitelist must be an array');
  }
  return problems;
}

/**
 * Serve the sessions of `init` on the calling thread, talking to the main side through `port`
 * (a worker's parentPort, or one end of a MessageChannel on the main thread: sessionWorkers=0).
 * Resolves once listening (after posting 'listening'); rejects when the worker cannot start.
 * After a 'stop' message it posts 'stopped' and unrefs the port.
 */
export async function serveOnThisThread(port: MessagePort, init: WorkerInit): Promise<void> {
  const problems = validateWorkerInit(init);
  if (problems.length > 0) {
    throw new Error(`session worker: bad workerData:\n  ${problems.join('\n  ')}`);
  }
  const log = createWorkerLog(init.logLevel, init.workerIndex);
  const post = (m: WorkerToMainMessage): void => port.postMessage(m);
  const worker = new SessionWorker({
    init,
    bridge: new Bridge(init.channel),
    status: new SharedStatus(init.status),
    ipCounts: IpCountTable.attach(init.ipCounts),
    log,
    post,
  });
  // A thread going down on an uncaught error must not leave a uWS app open (uWS aborts the
  // process then, instead of the exit the main thread chooses): the monitor runs before the
  // thread ends and changes nothing else.
  const closeNow = (): void => worker.closeNow();
  if (init.webSocket != null) process.on('uncaughtExceptionMonitor', closeNow);
  port.on('message', (m: MainToWorkerMessage) => {
    if (m.type !== 'stop') {
      worker.onAdminMessage(m);
      return;
    }
    void worker.stop().then(() => {
      process.off('uncaughtExceptionMonitor', closeNow);
      post({ type: 'stopped', workerIndex: init.workerIndex });
      log.flush();
      port.unref(); // nothing else holds the thread: it exits
    });
  });
  let address: { host: string; port: number };
  try {
    address = await worker.start();
  } catch (e) {
    await worker.stop(); // closes a uWS app it opened: one left open aborts the process
    throw e;
  }
  const { host, port: listenPort } = address;
  post({ type: 'listening', workerIndex: init.workerIndex, host, port: listenPort });
}

if (!isMainThread && parentPort !== null) {
  void serveOnThisThread(parentPort, workerData as WorkerInit).catch((err: unknown) => {
    // Let the thread die with the error: the main thread's 'error' handler decides.
    setImmediate(() => {
      throw err;
    });
  });
}
