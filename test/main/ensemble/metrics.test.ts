// Unit tests of src/main/ensemble/metrics.ts: the member's mode for srvr/stat, the proposal
// sizes mntr shows (-1 before the first), and mntr's keys of a member that is still looking.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensembleMode, fedLearners, ProposalSizes, replicationMetrics, zabState } from '../../../src/main/ensemble/metrics.js';
import { MemoryLogView } from '../../../src/main/ensemble/memory-log-view.js';
import { ZabPeer } from '../../../src/main/zab/peer.js';

test('mode by Zab role', () => {
  assert.equal(ensembleMode('leading'), 'leader');
  assert.equal(ensembleMode('following'), 'follower');
  assert.equal(ensembleMode('observing'), 'observer');
  assert.equal(ensembleMode('looking'), 'looking');
});

test('proposal sizes: last, max and min; -1 before the first', () => {
  const z = new ProposalSizes();
  assert.deepEqual([z.last, z.max, z.min], [-1, -1, -1]);
  z.note(200);
  assert.deepEqual([z.last, z.max, z.min], [200, 200, 200]);
  z.note(50);
  z.note(120);
  assert.deepEqual([z.last, z.max, z.min], [120, 200, 50]);
});

test('a looking member: epoch, zxids, pending proposals including the queued ones, sizes; no leader keys', () => {
  const zxid = 3 * 0x100000000 + 5;
  const log = new MemoryLogView(zxid);
  const peer = new ZabPeer({
    config: { id: 1, voters: [1, 2, 3], observers: [], initLimitTicks: 10, syncLimitTicks: 5, electionTimeoutTicks: 4 },
    persisted: { acceptedEpoch: 3, currentEpoch: 3, lastLoggedZxid: log.lastZxid() },
    log,
    prng: { nextInt: () => 0 },
  });
  const sizes = new ProposalSizes();
  sizes.note(64);
  const m = replicationMetrics(peer, 'looking', 2, sizes);
  assert.equal(m['current_epoch'], 3);
  assert.equal(m['last_logged_zxid'], '0x300000005');
  assert.equal(m['pending_proposals'], Math.max(0, peer.lastLoggedZxid - peer.commitZxid) + 2);
  assert.equal(m['last_proposal_size'], 64);
  assert.equal(m['max_proposal_size'], 64);
  assert.equal(m['min_proposal_size'], 64);
  assert.equal(m['learners'], undefined);
  assert.equal(m['synced_followers'], undefined);
  assert.equal(m['learner_master'], undefined, 'not a learner');
});

test('a looking member is in election and feeds no learner (the AdminServer\'s zabstate, observers)', () => {
  const log = new MemoryLogView(0);
  const peer = new ZabPeer({
    config: { id: 1, voters: [1, 2, 3], observers: [4], initLimitTicks: 10, syncLimitTicks: 5, electionTimeoutTicks: 4 },
    persisted: { acceptedEpoch: 0, currentEpoch: 0, lastLoggedZxid: 0 },
    log,
    prng: { nextInt: () => 0 },
  });
  assert.equal(zabState(peer), 'election');
  assert.deepEqual(fedLearners(peer), []);
});
