// observerMasterOf: which follower feeds each observer, given the observer's view of the voters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { observerMasterOf } from '../../../src/main/zab/observer-master.js';
import type { ZabPeer } from '../../../src/main/zab/peer.js';

function config(voters: number, observers: number, masters = true): ZabPeer['config'] {
  const v = Array.from({ length: voters }, (_, i) => i + 1);
  const o = Array.from({ length: observers }, (_, i) => voters + i + 1);
  return {
    id: 1,
    voters: v,
    observers: o,
    initLimitTicks: 10,
    syncLimitTicks: 5,
    electionTimeoutTicks: 4,
    finalizeWaitTicks: 1,
    proposalsInFlightMax: 1000,
    quorum: { containsQuorum: () => true },
    observerMasters: new Map(masters ? o.map((x, k) => [x, v[k % voters]!]) : []),
  };
}

function spread(c: ZabPeer['config'], leader: number, down: readonly number[] = []): Map<number, number | undefined> {
  return new Map(c.observers.map((o) => [o, observerMasterOf(c, o, leader, (v) => down.includes(v))]));
}

test('the followers take the observers in turn; the leader feeds none', () => {
  const c = config(5, 8); // voters 1..5, observers 6..13
  const m = spread(c, 5);
  assert.deepEqual([...m.values()], [1, 2, 3, 4, 1, 2, 3, 4]);
});

test('a follower that is down: only its observers move, spread over the live followers in turn', () => {
  const c = config(5, 12); // followers of 5: 1, 2, 3, 4
  const before = spread(c, 5);
  const after = spread(c, 5, [2]);
  const moved = c.observers.filter((o) => before.get(o) !== after.get(o));
  assert.deepEqual(moved, c.observers.filter((o) => before.get(o) === 2), 'only the dead master\'s observers move');
  assert.deepEqual(moved.map((o) => after.get(o)), [1, 3, 4], 'spread over the live followers');
  for (const o of c.observers) assert.notEqual(after.get(o), 2);
  assert.deepEqual(spread(c, 5, []), before, 'back when it is back');
});

test('the dead member may be the old leader: its turn goes to a live follower', () => {
  const c = config(3, 4); // leader 2 now, 3 (the old leader) down: followers 1, 3
  assert.deepEqual([...spread(c, 2, [3]).values()], [1, 1, 1, 1]);
});

test('no live follower, or no configured master: the leader (undefined)', () => {
  const c = config(3, 2);
  assert.deepEqual([...spread(c, 3, [1, 2]).values()], [undefined, undefined]);
  assert.deepEqual([...spread(config(3, 2, false), 3).values()], [undefined, undefined]);
  assert.deepEqual([...spread(config(1, 2), 1).values()], [undefined, undefined], 'a leader alone has no followers');
});
