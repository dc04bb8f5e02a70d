// The simulator in CI: a fixed set of swarm seeds, every stored regression seed, and two
// canaries (deliberately broken cores) that the checkers must catch within the same budget.
//
//   ZKTS_SIM_SEEDS=<n>   run seeds 1..n instead of the default budget
//   ZKTS_SIM_SEED=<s>    run only seed s (with ZKTS_SIM_VERBOSE=1: one line per event)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runSim, swarm, type PeerFactory, type SimResult } from './sim.js';
import { ackBeforePersist, leaderCountedTwice } from './canary.js';

const seedsDir = fileURLToPath(new URL('../../../test/sim/seeds/', import.meta.url));
// Sized on a 2-core box: ~12 ms a seed here, so the default budget takes a few seconds.
const seedBudget = Number(process.env['ZKTS_SIM_SEEDS'] ?? 600);
const onlySeed = process.env['ZKTS_SIM_SEED'];

function runSeed(seed: number, factory?: PeerFactory): SimResult {
  const result = runSim(swarm(seed), factory);
  if (process.env['ZKTS_SIM_VERBOSE'] === '1') console.log(JSON.stringify(result));
  return result;
}

function storeFailure(seed: number, result: SimResult): void {
  mkdirSync(seedsDir, { recursive: true });
  const text = `seed=${seed}\n# ${result.failure ?? ''}\n# ${JSON.stringify(swarm(seed))}\n`;
  writeFileSync(`${seedsDir}${seed}.txt`, text);
}

function storedSeeds(): number[] {
  let names: string[] = [];
  try {
    names = readdirSync(seedsDir);
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+\.txt$/.test(n)).map((n) => Number(n.slice(0, -4)));
}

if (onlySeed !== undefined) {
  test(`seed ${onlySeed}`, () => {
    const result = runSeed(Number(onlySeed));
    assert.ok(result.ok, result.failure);
  });
} else {
  test(`simulator: seeds 1..${seedBudget} keep every invariant and converge`, () => {
    const started = performance.now();
    const failures: string[] = [];
    let committed = 0;
    let crashes = 0;
    for (let seed = 1; seed <= seedBudget; seed++) {
      const result = runSeed(seed);
      committed += result.committed;
      crashes += result.crashes;
      if (!result.ok) {
        storeFailure(seed, result);
        failures.push(`SEED=${seed} ${result.failure ?? ''}`);
      }
    }
    const ms = Math.round(performance.now() - started);
    console.log(`# sim: ${seedBudget} seeds, ${committed} txns committed, ${crashes} crashes, ${ms} ms`);
    assert.deepEqual(failures, [], `failing seeds were stored in ${seedsDir}`);
  });

  test('simulator: stored regression seeds', () => {
    for (const seed of storedSeeds()) {
      const result = runSeed(seed);
      assert.ok(result.ok, `SEED=${seed} ${result.failure ?? ''}`);
    }
  });

  for (const [name, factory] of [
    ['acks before persisting', ackBeforePersist],
    ['counts the leader twice', leaderCountedTwice],
  ] as const) {
    test(`canary: a core that ${name} is caught within the seed budget`, () => {
      for (let seed = 1; seed <= seedBudget; seed++) {
        const result = runSeed(seed, factory);
        // Caught by the checkers outside the core (not merely by a core assertion).
        if (!result.ok && result.failure?.startsWith('SimFailure') === true) {
          console.log(`# canary (${name}) caught at SEED=${seed}: ${result.failure ?? ''}`);
          return;
        }
      }
      assert.fail(`the checkers missed a core that ${name} in ${seedBudget} seeds`);
    });
  }
}
