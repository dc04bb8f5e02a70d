// /proc readings of a local process (src/load/proc.ts): CPU time in ns from each thread's
// schedstat, finer than the 10 ms clock ticks of /proc/<pid>/stat.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machineBusyTicks, processCpuNs, processCpuTicks, treeCpuNs } from '../../src/load/proc.js';

test('processCpuNs counts this process in ns and grows with 3 ms of CPU; treeCpuNs includes it', () => {
  const a = processCpuNs(process.pid);
  assert.ok(a !== null && a > 0);
  // 3 ms of this thread's CPU time (not wall time: a loaded machine may not run it for that long).
  const c0 = process.cpuUsage();
  let x = 0;
  for (let c = process.cpuUsage(c0); c.user + c.system < 3000; c = process.cpuUsage(c0)) x++;
  assert.ok(x > 0);
  const b = processCpuNs(process.pid)!;
  assert.ok(b - a >= 2_000_000, `3 ms of work read as ${b - a} ns`);
  assert.ok(b - a < 10_000_000_000);
  assert.ok(treeCpuNs(process.pid)! >= b);
  assert.ok(processCpuTicks(process.pid)! >= 0);
});

test('an unreadable process reads as null', () => {
  // Above the kernel's pid_max (4,194,304 at most): never a live process.
  assert.equal(processCpuNs(2 ** 30), null);
  assert.equal(treeCpuNs(2 ** 30), null);
});

test("machineBusyTicks counts the whole machine's busy CPU, this process's work included", () => {
  const a = machineBusyTicks();
  assert.ok(a !== null && a > 0);
  const c0 = process.cpuUsage();
  for (let c = process.cpuUsage(c0); c.user + c.system < 30_000; c = process.cpuUsage(c0));
  const b = machineBusyTicks()!;
  // 30 ms of this process's CPU is 3 ticks of 10 ms; allow for the tick boundaries.
  assert.ok(b - a >= 1, `${b - a} ticks`);
});
