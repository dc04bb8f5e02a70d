// Child process for the listen-fd test: the parent passes one listening socket twice as fds 3
// and 4 (as the launcher does); this process runs two session workers on them, each with a fake
// main thread that accepts every global session, and reports over IPC.

import { createIpCountTable } from '../../../../src/shm/ipcount.js';
import { FakeMain } from './fake-main.js';

async function serve(main: FakeMain): Promise<void> {
  for (;;) {
    const a = await main.next('attach', { timeoutMs: 60_000, skip: ['detach', 'touch', 'request', 'auth'] });
    main.attached({ sidHi: a.sidHi, sidLo: a.sidLo, connId: a.connId, timeoutMs: a.timeoutMs });
  }
}

const ipCounts = createIpCountTable(256);
const workers = await Promise.all([0, 1].map((i) => FakeMain.start({ ipCounts, workerIndex: i, listenFd: 3 + i })));
for (const w of workers) void serve(w).catch(() => {});
process.send?.({ type: 'ready', ports: workers.map((w) => w.port) });
process.on('message', (m: { type: string }) => {
  if (m.type !== 'stop') return;
  void Promise.all(workers.map((w) => w.stop())).then((codes) => {
    process.send?.({ type: 'stopped', codes });
    process.exit(0);
  });
});
