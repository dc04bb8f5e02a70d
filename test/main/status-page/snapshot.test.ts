// The status page's snapshot builder (src/main/status-page/snapshot.ts): plain inputs in, the
// page's JSON out; rates between builds; the other members from their four-letter answers and,
// on the leader, from Zab.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerCounts } from '../../../src/shm/admin.js';
import type { MemberView } from '../../../src/main/ensemble/member-view.js';
import { RateMeter, SnapshotBuilder, type PeerProbeResult, type SnapshotInput } from '../../../src/main/status-page/snapshot.js';
import { statusRateWindowMsMin } from '../../../src/main/status-page/limits.js';

function counts(o: Partial<WorkerCounts> = {}): WorkerCounts {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    aliveConnections: 0,
    outstandingRequests: 0,
    minLatencyMs: 0,
    avgLatencyMs: 0,
    maxLatencyMs: 0,
    latencyTotalMs: 0,
    latencyCount: 0,
    localSessions: 0,
    globalSessions: 0,
    responseSizeLast: -1,
    responseSizeMin: -1,
    responseSizeMax: -1,
    authFailed: 0,
    ...o,
  };
}

function standalone(atMs: number, w0: Partial<WorkerCounts>, w1: Partial<WorkerCounts> = {}): SnapshotInput {
  return {
    atMs,
    self: { id: 0, mode: 'standalone', zxid: 0x5, nodeCount: 7, sessions: { local: 1, global: 2 } },
    members: [{ id: 0, host: '127.0.0.1', clientPort: 2181, role: 'standalone' }],
    workers: [
      { workerIndex: 0, counts: counts(w0) },
      { workerIndex: 1, counts: counts(w1) },
    ],
    workersStale: false,
    zab: null,
    peers: new Map(),
  };
}

describe('SnapshotBuilder, standalone', () => {
  it('shows this server as the one member, with its zxid, znodes, sessions and workers', () => {
    const b = new SnapshotBuilder();
    const s = b.build(standalone(1000, { aliveConnections: 2, globalSessions: 2, latencyTotalMs: 30, latencyCount: 3, minLatencyMs: 5, maxLatencyMs: 20 }, { aliveConnections: 1, localSessions: 1 }));
    assert.equal(s.kind, 'zkts-status');
    assert.equal(s.mode, 'standalone');
    assert.equal(s.zxid, '0x5');
    assert.equal(s.epoch, null);
    assert.equal(s.leaderId, null);
    assert.deepEqual(s.leaderChanges, []);
    assert.equal(s.members.length, 1);
    const m = s.members[0]!;
    assert.deepEqual(
      { self: m.self, mode: m.mode, zxid: m.zxid, nodes: m.nodeCount, sessions: m.sessions, connections: m.connections, source: m.source, note: m.note },
      { self: true, mode: 'standalone', zxid: '0x5', nodes: 7, sessions: { local: 1, global: 2 }, connections: 3, source: 'self', note: null },
    );
    assert.deepEqual(s.workers.map((w) => [w.index, w.connections, w.sessions]), [
      [0, 2, { local: 0, global: 2 }],
      [1, 1, { local: 1, global: 0 }],
    ]);
    // As srvr sums the workers: min over workers that answered something, overall average, max.
    assert.deepEqual(s.totals.latency, { minMs: 5, avgMs: 10, maxMs: 20, recentAvgMs: null });
    assert.equal(s.totals.opsPerS, null, 'no rate from a single sample');
  });

  it('turns the counters into ops/s and recent latency between builds, and starts over after a reset', () => {
    const b = new SnapshotBuilder();
    b.build(standalone(0, { packetsReceived: 100, latencyTotalMs: 100, latencyCount: 10 }, { packetsReceived: 50 }));
    let s = b.build(standalone(2000, { packetsReceived: 300, latencyTotalMs: 400, latencyCount: 20 }, { packetsReceived: 70 }));
    assert.deepEqual(s.workers.map((w) => w.opsPerS), [100, 10]);
    assert.equal(s.totals.opsPerS, 110);
    assert.equal(s.members[0]!.opsPerS, 110);
    assert.equal(s.workers[0]!.latency.recentAvgMs, 30, '(400 - 100) ms over 10 requests');
    assert.equal(s.totals.latency.avgMs, 20);
    // A build sooner than the rate window shows the last rates.
    s = b.build(standalone(2000 + statusRateWindowMsMin - 1, { packetsReceived: 301, latencyTotalMs: 400, latencyCount: 20 }, { packetsReceived: 70 }));
    assert.deepEqual(s.workers.map((w) => w.opsPerS), [100, 10]);
    // srst reset worker 0's counters: no rate for it until the next sample.
    s = b.build(standalone(4000, { packetsReceived: 5 }, { packetsReceived: 90 }));
    assert.deepEqual(s.workers.map((w) => w.opsPerS), [null, 10]);
    assert.equal(s.totals.opsPerS, null);
    s = b.build(standalone(5000, { packetsReceived: 25 }, { packetsReceived: 90 }));
    assert.deepEqual(s.workers.map((w) => w.opsPerS), [20, 0]);
  });

  it('marks the workers stale when they did not answer in time', () => {
    const s = new SnapshotBuilder().build({ ...standalone(0, {}), workers: null, workersStale: true });
    assert.equal(s.workersStale, true);
    assert.deepEqual(s.workers, []);
    assert.match(s.members[0]!.note ?? '', /did not answer in time/);
  });
});

describe('SnapshotBuilder, an ensemble member', () => {
  const members = [
    { id: 1, host: 'a', clientPort: 2181, role: 'participant' },
    { id: 2, host: 'b', clientPort: 2182, role: 'participant' },
    { id: 3, host: 'c', clientPort: null, role: 'participant' },
    { id: 4, host: 'd', clientPort: 2184, role: 'observer' },
    { id: 5, host: 'e', clientPort: 2185, role: 'observer' },
  ] as const;
  const zab: MemberView = {
    myId: 1,
    mode: 'leader',
    leaderId: 1,
    currentEpoch: 3,
    lastLoggedZxid: 0x300000009,
    commitZxid: 0x300000009,
    learnerMaster: null,
    learners: [
      { id: 2, observer: false, phase: 'active', ackedZxid: 0x300000009 },
      { id: 3, observer: false, phase: 'syncing', ackedZxid: 0x300000004 },
      { id: 4, observer: true, phase: 'active', ackedZxid: 0x300000001 },
    ],
    leaderChanges: [{ epoch: 3, leaderId: 1, atMs: 10, as: 'leader' }],
  };
  const mntr = (atMs: number, packetsReceived: number): PeerProbeResult => ({
    atMs,
    error: null,
    figures: { word: 'mntr', mode: 'follower', zxid: 0x300000009, nodeCount: 9, sessions: { local: 3, global: 4 }, packetsReceived, avgLatencyMs: 1.5, connections: 2, workerSessions: [{ local: 1, global: 4 }, { local: 2, global: 0 }] },
  });
  const input = (atMs: number, peers: Map<number, PeerProbeResult>): SnapshotInput => ({
    atMs,
    self: { id: 1, mode: 'leader', zxid: 0x300000009, nodeCount: 9, sessions: { local: 0, global: 4 } },
    members,
    workers: [{ workerIndex: 0, counts: counts() }],
    workersStale: false,
    zab,
    peers,
  });

  it('lists every member with its role, its zxid as it reports it, and the acked zxid Zab shows', () => {
    const peers = new Map<number, PeerProbeResult>([
      [2, mntr(900, 10)],
      [4, { atMs: 950, error: null, figures: { word: 'srvr', mode: 'observer', zxid: 0x300000008, nodeCount: 9, sessions: null, packetsReceived: 4, avgLatencyMs: 0, connections: 0, workerSessions: null } }],
      [5, { atMs: 990, error: 'no answer: connect ECONNREFUSED', figures: null }],
    ]);
    const s = new SnapshotBuilder().build(input(1000, peers));
    assert.equal(s.epoch, 3);
    assert.equal(s.leaderId, 1);
    assert.deepEqual(s.leaderChanges, zab.leaderChanges);
    const row = (id: number) => s.members.find((m) => m.id === id)!;
    assert.deepEqual([row(1).self, row(1).mode, row(1).source], [true, 'leader', 'self']);
    // A follower that answered mntr: its own figures, and the leader's view of its acks.
    assert.deepEqual(
      [row(2).mode, row(2).zxid, row(2).ackedZxid, row(2).sessions, row(2).source, row(2).ageMs, row(2).note],
      ['follower', '0x300000009', '0x300000009', { local: 3, global: 4 }, 'mntr', 100, null],
    );
    // Per session worker: its own from the workers, another's from its zk_worker_sessions row.
    assert.deepEqual(row(1).workerSessions, [{ local: 0, global: 0 }]);
    assert.deepEqual(row(2).workerSessions, [
      { local: 1, global: 4 },
      { local: 2, global: 0 },
    ]);
    assert.equal(row(4).workerSessions, null, 'srvr does not say');
    // No client port in its server line: Zab is all this leader knows of it.
    assert.deepEqual(
      [row(3).mode, row(3).zxid, row(3).ackedZxid, row(3).syncPhase, row(3).source],
      ['follower', '0x300000004', '0x300000004', 'syncing', 'zab'],
    );
    assert.match(row(3).note ?? '', /client port unknown/);
    // An observer that only answers srvr: no sessions, said so; observers ack no proposals.
    assert.deepEqual([row(4).mode, row(4).zxid, row(4).ackedZxid, row(4).sessions, row(4).source], ['observer', '0x300000008', null, null, 'srvr']);
    assert.match(row(4).note ?? '', /sessions unknown/);
    // One that does not answer and is not connected to this leader: unknown, and why.
    assert.deepEqual([row(5).mode, row(5).zxid, row(5).source, row(5).note], ['unknown', null, 'none', 'no answer: connect ECONNREFUSED']);
  });

  it("computes a member's ops/s from its successive answers, not from each push", () => {
    const b = new SnapshotBuilder();
    b.build(input(1000, new Map([[2, mntr(900, 10)]])));
    // The same answer seen again by the next push: no new rate yet.
    assert.equal(b.build(input(2000, new Map([[2, mntr(900, 10)]]))).members[1]!.opsPerS, null);
    assert.equal(b.build(input(3000, new Map([[2, mntr(2900, 50)]]))).members[1]!.opsPerS, 20);
  });
});

describe('RateMeter', () => {
  it('gives a rate only over the window, and none across a counter that went down', () => {
    const r = new RateMeter();
    assert.equal(r.rate('k', 10, 0), null);
    assert.equal(r.rate('k', 20, statusRateWindowMsMin - 1), 'soon');
    assert.equal(r.rate('k', 30, 1000), 20);
    assert.equal(r.rate('k', 5, 2000), null);
    assert.equal(r.rate('k', 15, 3000), 10);
    assert.equal(r.rate('other', 15, 3000), null, 'keys apart');
  });
});
