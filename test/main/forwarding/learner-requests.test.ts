// forwarding/learner-requests.ts: what a follower's or observer's requests do across a leader change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LearnerRequests, type WaitingWrite } from '../../../src/main/forwarding/learner-requests.js';
import { SessionContext } from '../../../src/main/sessions/table.js';
import { OpCode } from '../../../src/common/zk.js';

const s1 = new SessionContext({ id: 0x101n, hi: 0, lo: 0x101, worker: 0, connId: 1, timeoutMs: 6000, local: false, ip: '127.0.0.1' });
const s2 = new SessionContext({ id: 0x102n, hi: 0, lo: 0x102, worker: 0, connId: 2, timeoutMs: 6000, local: false, ip: '127.0.0.1' });

function write(s: SessionContext, xid: number, epoch: number, since = 0): WaitingWrite {
  return { s, worker: s.worker, xid, op: OpCode.create, body: new Uint8Array(0), silent: false, pending: epoch < 0, epoch, since };
}

test('writes sent in the current epoch are not resent; older ones and parked ones are, in order', () => {
  const q = new LearnerRequests();
  q.addWrite(write(s1, 1, 3));
  q.addWrite(write(s2, 1, 3));
  q.addWrite(write(s1, 2, 4));
  assert.equal(q.anyPending, false);
  q.leaderLost();
  assert.equal(q.anyPending, true);
  q.addWrite(write(s2, 2, -1)); // parked while there is no leader
  // The learner reconnects to the leader of epoch 4 (the same leader): (s1, 2) stays in flight.
  const again = q.toSend(4);
  assert.deepEqual(
    again.writes.map((w) => [w.s.id, w.xid]),
    [
      [0x101n, 1],
      [0x102n, 1],
      [0x102n, 2],
    ],
  );
  for (const w of again.writes) q.markSent(w, 4);
  assert.equal(q.anyPending, false);
  assert.equal(q.size, 4);
  assert.equal(q.takeWrite(0x101n, 2)?.epoch, 4);
  assert.equal(q.takeWrite(0x101n, 2), undefined);
});

test('a refusal parks a write even in the current epoch; creates come before writes', () => {
  const q = new LearnerRequests();
  const w = write(s1, 7, 5);
  q.addWrite(w);
  q.addCreate(0x103n, { s: s2, connId: 3, pending: false, epoch: 5, since: 0 });
  q.park(w);
  const out = q.toSend(5);
  assert.deepEqual(out.creates, []);
  assert.deepEqual(out.writes, [w]);
  q.leaderLost();
  const next = q.toSend(6);
  assert.deepEqual(next.creates.map(([id]) => id), [0x103n]);
  assert.equal(next.writes.length, 1);
});

test('what waited longer than its session timeout is taken out', () => {
  const q = new LearnerRequests();
  q.addWrite(write(s1, 1, -1, 1000));
  q.addWrite(write(s1, 2, -1, 5000));
  q.addCreate(0x104n, { s: s2, connId: 4, pending: true, epoch: -1, since: 1000 });
  const due = q.takeOverdue(7500); // s1 and s2 have 6000 ms timeouts
  assert.deepEqual(due.writes.map((x) => x.xid), [1]);
  assert.deepEqual(due.creates.map(([id]) => id), [0x104n]);
  assert.equal(q.size, 1);
  assert.equal(q.anyPending, true);
  q.takeWrite(0x101n, 2);
  assert.equal(q.anyPending, false);
});
