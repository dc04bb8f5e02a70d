// Micro-benchmark: session expiry bookkeeping for 20K sessions of one worker, ZooKeeper's
// ExpiryQueue (one tick, buckets of tickTime) against a timer per session.
//
//   node dist/bench/expiry.bench.js          (after `npx tsc -b`)
//
// Tasks (each iteration handles all 20K sessions once):
//   buckets: touch, same bucket     every session pings within its current bucket (the common
//                                   case: pings every timeout/3, buckets of tickTime)
//   buckets: touch, next bucket     every session moves to the next bucket
//   timers: refresh                 a setTimeout per session, timer.refresh() on each ping
//   timers: clear + set             a setTimeout per session, cancelled and re-armed on each ping
//   buckets: expire all             20K sessions spread over 10 buckets, one poll expires them
//   timers: expire all              20K setTimeout(…, 0..9 ms) armed, wait until all have fired

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { ExpiryQueue } from '../src/common/expiry-queue.js';

const sessions = 20_000;
const tickTimeMs = 2000;
const timeoutMs = 10_000;

function noop(): void {}

export async function run(): Promise<void> {
  let now = 1_000_000;
  const queue = new ExpiryQueue(tickTimeMs, now, sessions);
  for (let id = 0; id < sessions; id++) queue.update(id, now, timeoutMs);

  const timers: NodeJS.Timeout[] = [];
  for (let id = 0; id < sessions; id++) timers.push(setTimeout(noop, timeoutMs * 100));

  let expired = 0;
  const onExpire = (): void => void expired++;

  const bench = new Bench({ name: 'expiry', time: 500 });
  bench.add(`buckets: touch ${sessions}, same bucket`, () => {
    for (let id = 0; id < sessions; id++) queue.update(id, now, timeoutMs);
  });
  bench.add(`buckets: touch ${sessions}, next bucket`, () => {
    now += tickTimeMs;
    for (let id = 0; id < sessions; id++) queue.update(id, now, timeoutMs);
  });
  bench.add(`timers: refresh ${sessions}`, () => {
    for (const t of timers) t.refresh();
  });
  bench.add(`timers: clear + set ${sessions}`, () => {
    for (let id = 0; id < sessions; id++) {
      clearTimeout(timers[id]);
      timers[id] = setTimeout(noop, timeoutMs * 100);
    }
  });
  bench.add(
    `buckets: expire ${sessions} (10 buckets)`,
    () => {
      queue.poll(now + 20 * tickTimeMs, onExpire);
    },
    {
      beforeEach: () => {
        now += 20 * tickTimeMs;
        for (let id = 0; id < sessions; id++) queue.update(id, now, (id % 10) * tickTimeMs);
      },
    },
  );
  bench.add(`timers: expire ${sessions} (0..9 ms)`, async () => {
    await new Promise<void>((resolve) => {
      let left = sessions;
      const fire = (): void => {
        expired++;
        if (--left === 0) resolve();
      };
      for (let id = 0; id < sessions; id++) setTimeout(fire, id % 10);
    });
  });
  await bench.run();
  for (const t of timers) clearTimeout(t);

  console.log(`expiry bench (node ${process.version}); ${expired} expirations`);
  console.table(
    bench.tasks.map((t) => {
      const r = t.result;
      const mean = 'latency' in r ? r.latency.mean : 0;
      const rme = 'latency' in r ? r.latency.rme : 0;
      return {
        task: t.name,
        'ms/iteration': mean.toFixed(3),
        'ns/session': ((mean * 1e6) / sessions).toFixed(1),
        '±%': rme.toFixed(1),
      };
    }),
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
