// The ensemble member's read-only view for the status page (src/main/ensemble/member-view.ts):
// the leader changes it records from Zab's events, bounded, and each learner's acked zxid.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderHistory } from '../../../src/main/ensemble/member-view.js';
import { leaderChangesMax } from '../../../src/main/ensemble/limits.js';

describe('LeaderHistory', () => {
  const voter = { id: 2, isObserver: false };

  it('records an epoch this member leads and a leader it synced with; nothing else', () => {
    const h = new LeaderHistory();
    h.note({ kind: 'role', role: 'following', leader: 3, epoch: 0 }, voter, 1);
    h.note({ kind: 'uptodate', epoch: 1, leader: 3 }, voter, 2);
    h.note({ kind: 'role', role: 'looking', leader: -1, epoch: 1 }, voter, 3);
    h.note({ kind: 'established', epoch: 2, zxid: 0x100000005 }, voter, 4);
    assert.deepEqual(h.list(), [
      { epoch: 1, leaderId: 3, atMs: 2, as: 'follower' },
      { epoch: 2, leaderId: 2, atMs: 4, as: 'leader' },
    ]);
    const obs = new LeaderHistory();
    obs.note({ kind: 'uptodate', epoch: 7, leader: 1 }, { id: 4, isObserver: true }, 9);
    assert.deepEqual(obs.list(), [{ epoch: 7, leaderId: 1, atMs: 9, as: 'observer' }]);
  });

  it('does not count a re-sync with the same leader in the same epoch', () => {
    const h = new LeaderHistory();
    h.note({ kind: 'uptodate', epoch: 1, leader: 3 }, voter, 1);
    h.note({ kind: 'uptodate', epoch: 1, leader: 3 }, voter, 2);
    h.note({ kind: 'uptodate', epoch: 2, leader: 3 }, voter, 3);
    assert.deepEqual(h.list().map((c) => [c.epoch, c.atMs]), [[1, 1], [2, 3]]);
  });

  it(`keeps the newest ${leaderChangesMax}, and hands out copies`, () => {
    const h = new LeaderHistory();
    for (let e = 1; e <= leaderChangesMax + 5; e++) h.note({ kind: 'established', epoch: e, zxid: 0 }, voter, e);
    const list = h.list();
    assert.equal(list.length, leaderChangesMax);
    assert.equal(list[0]!.epoch, 6);
    assert.equal(list.at(-1)!.epoch, leaderChangesMax + 5);
    list.length = 0;
    assert.equal(h.list().length, leaderChangesMax);
  });
});
