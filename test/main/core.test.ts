// The main thread's Core, driven directly (test/main/harness/core.ts): records in as a worker
// sends them, every record out checked in order, the log stage and replication steered by hand.
// What is asserted is what the core does today (issue 10 changes no behaviour).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateMode, Err, EventType, OpCode, Perms, WatchKind } from '../../src/common/zk.js';
import { sessionIdHi, sessionIdLo } from '../../src/common/ids.js';
import { revalidateXid } from '../../src/main/core.js';
import type { ForwardMsg } from '../../src/main/net/codec.js';
import type { PreparedTxn } from '../../src/main/pipeline/database.js';
import { loadSnapshotImage } from '../../src/main/storage/recovery.js';
import { serializeSnapshot } from '../../src/main/storage/snapshot.js';
import { JuteWriter, encodeRequest } from '../../src/protocol/jute/index.js';
import type { ACL, ClientRequest } from '../../src/protocol/types.js';
import { DetachReason, SessionEndReason } from '../../src/shm/records.js';
import { CoreHarness, openAcl, type OutCall } from './harness/core.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined): string | null => (b == null ? null : new TextDecoder().decode(b));

function create(path: string, data = '', flags: number = CreateMode.persistent, acl: ACL[] = openAcl): ClientRequest {
  return { op: OpCode.create, req: { path, data: bytes(data), acl, flags } };
}
function getData(path: string, watch = false): ClientRequest {
  return { op: OpCode.getData, req: { path, watch } };
}
function exists(path: string, watch = false): ClientRequest {
  return { op: OpCode.exists, req: { path, watch } };
}
function setData(path: string, data: string, version = -1): ClientRequest {
  return { op: OpCode.setData, req: { path, data: bytes(data), version } };
}
function del(path: string, version = -1): ClientRequest {
  return { op: OpCode.delete, req: { path, version } };
}
function body(q: ClientRequest): Uint8Array {
  const w = new JuteWriter();
  encodeRequest(w, q);
  return Uint8Array.from(w.bytes());
}

/** A reply record as the harness records it, with no body. */
function bare(worker: number, session: bigint, xid: number, zxid: number, err: number): OutCall {
  return { kind: 'reply', worker, session, xid, zxid, err, flags: 0, res: null };
}

describe('Core standalone: the write path through the log stage', () => {
  it('create, getData, setData, delete: writes answered once durable, with their zxid and body', () => {
    const h = new CoreHarness();
    const a = h.openSession();
    assert.deepEqual(h.applied, [1], 'the createSession was zxid 1');

    h.request(0, a, 1, create('/a', 'one'));
    assert.deepEqual(h.take(), [], 'nothing before the write is durable');
    assert.deepEqual(h.log.appended.map((p) => [p.hdr.zxid, p.hdr.type]), [[1, OpCode.createSession], [2, OpCode.create]]);
    h.log.durable();
    assert.deepEqual(h.take(), [{ ...bare(0, a, 1, 2, Err.ok), res: { path: '/a' } }]);

    h.request(0, a, 2, getData('/a'));
    const [read] = h.take();
    assert.equal(read?.kind, 'reply');
    if (read?.kind !== 'reply' || read.res === null || !('data' in read.res)) throw new Error('getData body');
    assert.deepEqual([read.xid, read.err, read.zxid, text(read.res.data)], [2, Err.ok, 2, 'one']);
    assert.deepEqual([read.res.stat.czxid, read.res.stat.mzxid, read.res.stat.version], [2, 2, 0]);

    h.request(0, a, 3, setData('/a', 'two', 0));
    h.log.durable();
    const [set] = h.take();
    if (set?.kind !== 'reply' || set.res === null || !('stat' in set.res)) throw new Error('setData body');
    assert.deepEqual([set.xid, set.err, set.zxid, set.res.stat.version, set.res.stat.mzxid], [3, Err.ok, 3, 1, 3]);

    h.request(0, a, 4, del('/a', 1));
    h.log.durable();
    assert.deepEqual(h.take(), [bare(0, a, 4, 4, Err.ok)]);
    h.request(0, a, 5, getData('/a'));
    assert.deepEqual(h.take(), [bare(0, a, 5, 4, Err.noNode)]);
    assert.deepEqual(h.applied, [1, 2, 3, 4]);
    assert.equal(h.log.flushesWaiting, 0);
  });

  it("answers a read at once, but a read behind its session's write waits; replies keep request order", () => {
    const h = new CoreHarness();
    const a = h.openSession(0);
    const b = h.openSession(1);
    h.request(0, a, 1, create('/a', 'x'));
    h.request(0, a, 2, exists('/a'));
    h.request(0, a, 3, setData('/a', 'y'));
    // Another session's read is not held back by a's write (and does not see it yet).
    h.request(1, b, 1, exists('/a'));
    assert.deepEqual(h.take(), [bare(1, b, 1, 2, Err.noNode)]);
    assert.equal(h.log.appended.length, 3, "a's setData waits behind the read: not prepared yet");
    h.log.durable();
    const replies = h.take().map((c) => (c.kind === 'reply' ? [c.session, c.xid, c.err, c.zxid] : [c.kind]));
    assert.deepEqual(replies, [
      [a, 1, Err.ok, 3],
      [a, 2, Err.ok, 3],
      [a, 3, Err.ok, 4],
    ]);
    assert.deepEqual(h.log.appended.map((p) => p.hdr.type), [OpCode.createSession, OpCode.createSession, OpCode.create, OpCode.setData]);
  });

  it('writes across sessions take zxids in arrival order and are applied and answered in that order, a flush batch at a time', () => {
    const h = new CoreHarness();
    const a = h.openSession(0);
    const b = h.openSession(1);
    h.request(0, a, 1, create('/x'));
    assert.equal(h.log.flushesWaiting, 1, 'the first write asks for a flush (its batch: itself)');
    h.request(1, b, 1, create('/y'));
    h.request(0, a, 2, setData('/x', 'a2')); // a write joins its session's writes in flight
    h.request(1, b, 2, create('/z'));
    assert.deepEqual(h.log.appended.slice(2).map((p) => p.hdr.zxid), [3, 4, 5, 6]);
    assert.equal(h.log.flushesWaiting, 1, 'one flush at a time: the others wait for the next');

    assert.equal(h.log.durableOne(), true);
    assert.deepEqual(h.take(), [{ ...bare(0, a, 1, 3, Err.ok), res: { path: '/x' } }]);
    assert.equal(h.log.flushesWaiting, 1, 'the writes appended meanwhile get the next flush');
    h.log.durableOne();
    assert.deepEqual(h.take().map((c) => c.kind === 'reply' && [c.session, c.xid, c.zxid]), [
      [b, 1, 4],
      [a, 2, 5],
      [b, 2, 6],
    ]);
    assert.equal(h.log.flushesWaiting, 0);
    assert.deepEqual(h.applied, [1, 2, 3, 4, 5, 6]);
    assert.equal(h.out.flushes, 4, 'each completed flush makes its records visible');
  });

  it("fires a watch with another session's write: the event goes out before that write's reply", () => {
    const h = new CoreHarness();
    const a = h.openSession(0);
    const b = h.openSession(1);
    h.request(1, b, 1, create('/w', 'v0'));
    h.log.durable();
    h.take();
    h.request(0, a, 1, getData('/w', true));
    const [register, read] = h.take();
    assert.deepEqual(register, { kind: 'watchRegister', worker: 0, session: a, watch: WatchKind.data, path: '/w' });
    assert.deepEqual(read?.kind === 'reply' && [read.xid, read.err], [1, Err.ok]);

    h.request(1, b, 2, setData('/w', 'v1'));
    h.request(1, b, 3, getData('/w'));
    h.log.durable();
    const calls = h.take();
    assert.deepEqual(calls[0], { kind: 'event', worker: 0, target: 0n, type: EventType.nodeDataChanged, zxid: 4, path: '/w', readers: null });
    assert.deepEqual(calls.slice(1).map((c) => c.kind === 'reply' && [c.session, c.xid, c.zxid]), [
      [b, 2, 4],
      [b, 3, 4],
    ]);
    // One-shot: a second change fires nothing.
    h.request(1, b, 4, setData('/w', 'v2'));
    h.log.durable();
    assert.deepEqual(h.take().map((c) => c.kind), ['reply']);
  });
});

describe('Core standalone: refusals are error txns, nothing applied', () => {
  it('a write without the permission is NoAuth, a read too; the node is unchanged', () => {
    const h = new CoreHarness();
    const a = h.openSession(0);
    const b = h.openSession(0, { ip: '10.0.0.2' });
    const readOnly: ACL[] = [{ perms: Perms.read, id: { scheme: 'world', id: 'anyone' } }];
    h.request(0, a, 1, create('/locked', 'orig', CreateMode.persistent, readOnly));
    h.request(0, a, 2, create('/mine', 'secret', CreateMode.persistent, [{ perms: Perms.all, id: { scheme: 'ip', id: '10.0.0.1' } }]));
    h.log.durable();
    h.take();

    h.request(0, b, 1, setData('/locked', 'changed'));
    assert.deepEqual(h.take(), [], 'a refused write is answered in its turn, through the log');
    assert.deepEqual(h.log.appended.at(-1)?.hdr.type, OpCode.error);
    assert.deepEqual(h.log.appended.at(-1)?.txn, { type: OpCode.error, err: Err.noAuth });
    h.log.durable();
    assert.deepEqual(h.take(), [bare(0, b, 1, 5, Err.noAuth)]);
    h.request(0, b, 2, getData('/mine'));
    assert.deepEqual(h.take(), [bare(0, b, 2, 5, Err.noAuth)], 'a read is refused at once');

    h.request(0, a, 3, getData('/locked'));
    const [read] = h.take();
    if (read?.kind !== 'reply' || read.res === null || !('data' in read.res)) throw new Error('getData body');
    assert.deepEqual([text(read.res.data), read.res.stat.version, read.res.stat.mzxid], ['orig', 0, 3]);
  });

  it('a setData or delete with the wrong version is BadVersion; the node is unchanged', () => {
    const h = new CoreHarness();
    const a = h.openSession();
    h.request(0, a, 1, create('/v', 'orig'));
    h.request(0, a, 2, setData('/v', 'new', 7));
    h.request(0, a, 3, del('/v', 3));
    h.request(0, a, 4, getData('/v'));
    h.log.durable();
    const calls = h.take();
    assert.deepEqual(calls.slice(1, 3), [bare(0, a, 2, 3, Err.badVersion), bare(0, a, 3, 4, Err.badVersion)]);
    const read = calls[3];
    if (read?.kind !== 'reply' || read.res === null || !('data' in read.res)) throw new Error('getData body');
    assert.deepEqual([read.xid, read.zxid, text(read.res.data), read.res.stat.version], [4, 4, 'orig', 0]);
    assert.deepEqual(h.log.appended.slice(2).map((p) => p.txn), [
      { type: OpCode.error, err: Err.badVersion },
      { type: OpCode.error, err: Err.badVersion },
    ]);
  });
});

describe('Core standalone: session lifecycle', () => {
  it('a new global session is a createSession txn, answered once durable', () => {
    const h = new CoreHarness();
    const id = h.newSessionId();
    h.attach(2, id, { timeoutMs: 5000, connId: 7 });
    assert.deepEqual(h.take(), []);
    const [p] = h.log.appended;
    assert.deepEqual([p?.hdr.type, p?.hdr.clientId, p?.hdr.zxid, p?.txn.type === OpCode.createSession && p.txn.timeOut], [OpCode.createSession, id, 1, 5000]);
    h.log.durable();
    assert.deepEqual(h.take(), [{ kind: 'attached', worker: 2, session: id, connId: 7, err: Err.ok, timeoutMs: 5000, flags: 0 }]);
    assert.deepEqual(h.core.sessions.counts, { global: 1, local: 0 });
    // A reconnect with the wrong password is refused; with the right one it is answered at once.
    h.attach(1, id, { create: false, connId: 8, passwdOk: false });
    h.attach(1, id, { create: false, connId: 9, timeoutMs: 6000 });
    assert.deepEqual(h.take(), [
      { kind: 'attached', worker: 1, session: id, connId: 8, err: Err.sessionExpired, timeoutMs: 0, flags: 0 },
      { kind: 'sessionEnd', worker: 2, session: id, reason: SessionEndReason.moved },
      { kind: 'attached', worker: 1, session: id, connId: 9, err: Err.ok, timeoutMs: 6000, flags: 0 },
    ]);
    // An unknown session's reconnect: expired.
    h.attach(1, 0x99n, { create: false, connId: 10 });
    assert.deepEqual(h.take(), [{ kind: 'attached', worker: 1, session: 0x99n, connId: 10, err: Err.sessionExpired, timeoutMs: 0, flags: 0 }]);
  });

  it('a local session is kept without a txn, refuses ephemerals, and closes at once', () => {
    const h = new CoreHarness();
    const l = h.openSession(0, { local: true });
    assert.deepEqual(h.log.appended, []);
    assert.deepEqual(h.core.sessions.counts, { global: 0, local: 1 });
    h.request(0, l, 1, create('/e', '', CreateMode.ephemeral));
    h.log.durable();
    assert.deepEqual(h.take(), [bare(0, l, 1, 1, Err.ephemeralOnLocalSession)]);
    h.requestRaw(0, l, 2, OpCode.closeSession);
    assert.deepEqual(h.take(), [bare(0, l, 2, 1, Err.ok), { kind: 'sessionEnd', worker: 0, session: l, reason: SessionEndReason.closed }]);
    assert.deepEqual(h.core.sessions.counts, { global: 0, local: 0 });
    assert.equal(h.log.appended.length, 1, 'only the refused create was logged');
    // One its worker ended (expired there) is dropped here too.
    const m = h.openSession(1, { local: true });
    h.detach(1, m, 1, DetachReason.localSessionExpired);
    assert.deepEqual(h.core.sessions.counts, { global: 0, local: 0 });
    h.request(1, m, 1, exists('/'));
    assert.deepEqual(h.take(), [bare(1, m, 1, 1, Err.sessionExpired)]);
  });

  it("localSessionsUpgradingEnabled: a local session's first ephemeral makes it global, its createSession first", () => {
    const h = new CoreHarness({ localSessionsUpgradingEnabled: true });
    const l = h.openSession(0, { local: true, timeoutMs: 3000 });
    h.request(0, l, 1, create('/u', '', CreateMode.ephemeral));
    assert.deepEqual(h.take(), [{ kind: 'upgraded', worker: 0, session: l }]);
    assert.deepEqual(h.log.appended.map((p) => [p.hdr.zxid, p.hdr.type, p.hdr.clientId]), [
      [1, OpCode.createSession, l],
      [2, OpCode.create, l],
    ]);
    assert.deepEqual(h.core.sessions.counts, { global: 1, local: 0 });
    h.log.durable();
    assert.deepEqual(h.take(), [{ ...bare(0, l, 1, 2, Err.ok), res: { path: '/u' } }], 'the upgrade itself is not answered');
    assert.equal(h.db.tree.getNode('/u')?.ephemeralOwner, l);
  });

  it("a closeSession removes the session's ephemerals, fires their watches, and answers what followed it SessionExpired", () => {
    const h = new CoreHarness();
    const a = h.openSession(0);
    const b = h.openSession(1);
    h.request(0, a, 1, create('/e', '', CreateMode.ephemeral));
    h.log.durable();
    h.request(1, b, 1, exists('/e', true));
    h.take();
    h.requestRaw(0, a, 2, OpCode.closeSession);
    h.request(0, a, 3, getData('/e'));
    assert.deepEqual(h.take(), []);
    assert.equal(h.log.appended.at(-1)?.hdr.type, OpCode.closeSession);
    h.log.durable();
    assert.deepEqual(h.take(), [
      { kind: 'event', worker: 1, target: 0n, type: EventType.nodeDeleted, zxid: 4, path: '/e', readers: null },
      bare(0, a, 2, 4, Err.ok),
      { kind: 'sessionEnd', worker: 0, session: a, reason: SessionEndReason.closed },
      bare(0, a, 3, 4, Err.sessionExpired),
    ]);
    assert.equal(h.db.tree.getNode('/e'), undefined);
    h.request(0, a, 4, exists('/'));
    assert.deepEqual(h.take(), [bare(0, a, 4, 4, Err.sessionExpired)], 'the session is gone');
  });

  it('expires a global session on the tick after its timeout, unless touched', () => {
    const h = new CoreHarness({ tickTimeMs: 100 });
    const a = h.openSession(0, { timeoutMs: 4000 });
    const b = h.openSession(1, { timeoutMs: 4000 });
    h.request(0, a, 1, create('/ea', '', CreateMode.ephemeral));
    h.log.durable();
    h.take();
    // Expiry buckets round up to the tick: created at t0, due at t0 + 4100.
    h.tick(3000);
    h.touch(b);
    h.tick(1099);
    assert.deepEqual(h.take(), []);
    assert.equal(h.log.flushesWaiting, 0);
    h.tick(1);
    assert.equal(h.core.stats.expired, 1);
    const close = h.log.appended.at(-1);
    assert.deepEqual([close?.hdr.type, close?.hdr.clientId, close?.hdr.cxid], [OpCode.closeSession, a, 0]);
    assert.deepEqual(h.take(), [], 'the expiry is answered once durable');
    h.log.durable();
    assert.deepEqual(h.take(), [{ kind: 'sessionEnd', worker: 0, session: a, reason: SessionEndReason.expired }]);
    assert.equal(h.db.tree.getNode('/ea'), undefined);
    // b was touched at t0 + 3000: due at t0 + 7100.
    h.tick(2999);
    assert.equal(h.core.stats.expired, 1);
    h.tick(1);
    h.log.durable();
    assert.deepEqual(h.take(), [{ kind: 'sessionEnd', worker: 1, session: b, reason: SessionEndReason.expired }]);
    assert.deepEqual(h.core.sessions.counts, { global: 0, local: 0 });
  });
});

/** What a learner forwarded, taken by the leader (from the learner's myid), committed there and
 *  applied on the learner, as Zab would. */
function leaderCommits(L: CoreHarness, F: CoreHarness, ...ms: (ForwardMsg | undefined)[]): PreparedTxn[] {
  for (const m of ms) {
    assert.equal(m?.type, 'REQUEST');
    if (m?.type === 'REQUEST') assert.equal(L.core.onForwardedRequest(m, F.serverId), null);
  }
  const ps = L.commitProposed();
  for (const p of ps) F.core.applyCommitted(p);
  return ps;
}

/** A leader (myid 1), a learner (myid 2), and a global session created on the learner's worker 0
 *  through the leader. */
function ensemble(): { L: CoreHarness; F: CoreHarness; a: bigint } {
  const L = new CoreHarness({ ensemble: 'leader', serverId: 1 });
  const F = new CoreHarness({ ensemble: 'learner', serverId: 2 });
  const a = F.newSessionId();
  F.attach(0, a, { connId: 3 });
  leaderCommits(L, F, F.rep!.forwarded.pop());
  assert.deepEqual(F.take(), [{ kind: 'attached', worker: 0, session: a, connId: 3, err: Err.ok, timeoutMs: 4000, flags: 0 }]);
  return { L, F, a };
}

describe('Core in an ensemble: the leader', () => {
  it('proposes writes instead of logging them, and answers only when they are applied as committed', () => {
    const h = new CoreHarness({ ensemble: 'leader', serverId: 1 });
    const a = h.openSession(0);
    assert.equal(h.core.sessions.get(sessionIdHi(a), sessionIdLo(a))?.owner, 1);
    h.request(0, a, 1, create('/a', 'x'));
    h.request(0, a, 2, exists('/a'));
    assert.deepEqual(h.take(), []);
    assert.deepEqual(h.log.appended, [], 'nothing goes to the local log stage');
    const [p] = h.rep!.proposed;
    assert.deepEqual([p?.hdr.zxid, p?.hdr.type, p?.hdr.clientId, p?.hdr.cxid], [2, OpCode.create, a, 1]);
    h.commitProposed();
    const calls = h.take();
    assert.deepEqual(calls[0], { ...bare(0, a, 1, 2, Err.ok), res: { path: '/a' } });
    assert.deepEqual(calls.slice(1).map((c) => c.kind === 'reply' && [c.xid, c.err, c.zxid]), [[2, Err.ok, 2]]);
    assert.deepEqual(h.applied, [1, 2]);
  });

  it('abortProposed: writes proposed and not applied are answered ConnectionLoss, a session being created is refused, prepared changes forgotten', () => {
    const h = new CoreHarness({ ensemble: 'leader', serverId: 1 });
    const a = h.openSession(0);
    h.request(0, a, 1, create('/x'));
    h.request(0, a, 2, exists('/x'));
    const b = h.newSessionId();
    h.attach(1, b, { connId: 4 });
    assert.deepEqual(h.rep!.proposed.map((p) => [p.hdr.zxid, p.hdr.type]), [[2, OpCode.create], [3, OpCode.createSession]]);
    assert.equal(h.db.lastPreparedZxid, 3);
    h.core.abortProposed();
    assert.deepEqual(h.take(), [
      bare(0, a, 1, 1, Err.connectionLoss),
      bare(0, a, 2, 1, Err.noNode),
      { kind: 'attached', worker: 1, session: b, connId: 4, err: Err.sessionExpired, timeoutMs: 0, flags: 0 },
    ]);
    assert.equal(h.db.lastPreparedZxid, 1);
    assert.equal(h.core.sessions.get(sessionIdHi(b), sessionIdLo(b)), undefined);
    // The next write is prepared again from the applied state (/x does not exist).
    h.rep!.proposed.length = 0;
    h.request(0, a, 3, create('/x'));
    assert.deepEqual(h.rep!.proposed.map((p) => [p.hdr.zxid, p.hdr.type]), [[2, OpCode.create]]);
  });
});

describe('Core in an ensemble: a learner', () => {
  it('forwards a write to the leader and answers its client when the committed txn is applied', () => {
    const { L, F, a } = ensemble();
    F.request(0, a, 1, create('/f', 'd'));
    F.request(0, a, 2, getData('/f'));
    assert.deepEqual(F.take(), []);
    assert.deepEqual(F.rep!.forwarded, [
      { type: 'REQUEST', session: a, cxid: 1, op: OpCode.create, body: body(create('/f', 'd')), authIds: [{ scheme: 'ip', id: '10.0.0.1' }], timeoutMs: 4000, local: false },
    ]);
    const [p] = leaderCommits(L, F, F.rep!.forwarded[0]);
    assert.deepEqual([p?.hdr.zxid, p?.hdr.type, p?.hdr.clientId, p?.hdr.cxid], [2, OpCode.create, a, 1]);
    assert.deepEqual(L.take(), [], 'the leader answers no one: the learner does');
    const calls = F.take();
    assert.deepEqual(calls[0], { ...bare(0, a, 1, 2, Err.ok), res: { path: '/f' } });
    assert.deepEqual(calls.slice(1).map((c) => c.kind === 'reply' && c.res !== null && 'data' in c.res && [c.xid, c.zxid, text(c.res.data)]), [[2, 2, 'd']]);
    assert.deepEqual(F.log.appended, []);
  });

  it('keeps a write with no leader to send it to, and sends it (and what queued behind it) when one is synced', () => {
    const { L, F, a } = ensemble();
    F.rep!.forwarded.length = 0;
    F.rep!.epoch = -1;
    F.request(0, a, 1, create('/p'));
    F.request(0, a, 2, create('/q'));
    assert.equal(F.rep!.forwarded.length, 1, 'the first was tried; the second queues behind it unsent');
    assert.equal(F.core.hasPendingForLeader(), true);
    assert.deepEqual(F.take(), []);
    F.rep!.epoch = 2;
    F.rep!.forwarded.length = 0;
    F.core.resumeLearnerRequests(2);
    assert.deepEqual(F.rep!.forwarded.map((m) => m.type === 'REQUEST' && [m.cxid, m.op]), [[1, OpCode.create], [2, OpCode.create]]);
    assert.equal(F.core.hasPendingForLeader(), false);
    leaderCommits(L, F, ...F.rep!.forwarded);
    assert.deepEqual(F.takeReplies(), [
      [1, Err.ok, 2],
      [2, Err.ok, 3],
    ]);
  });

  it('keeps a forwarded write across a lost leader: not resent to the same epoch, resent to the next', () => {
    const { L, F, a } = ensemble();
    F.rep!.forwarded.length = 0;
    F.request(0, a, 1, setData('/', 'root'));
    F.request(0, a, 2, exists('/'));
    F.core.leaderLost();
    assert.deepEqual(F.take(), []);
    assert.equal(F.core.hasPendingForLeader(), true);
    F.core.resumeLearnerRequests(1);
    assert.equal(F.rep!.forwarded.length, 1, 'the leader of epoch 1 has it already');
    assert.equal(F.core.hasPendingForLeader(), false);
    F.core.leaderLost();
    F.core.resumeLearnerRequests(2);
    assert.equal(F.rep!.forwarded.length, 2);
    assert.deepEqual(F.rep!.forwarded[1], F.rep!.forwarded[0]);
    leaderCommits(L, F, F.rep!.forwarded[1]);
    assert.deepEqual(F.takeReplies(), [
      [1, Err.ok, 2],
      [2, Err.ok, 2],
    ]);
  });

  it("answers the client the leader's refusal (REQUESTERROR); ConnectionLoss parks the write instead", () => {
    const { F, a } = ensemble();
    F.rep!.forwarded.length = 0;
    F.request(0, a, 1, create('/r'));
    F.request(0, a, 2, exists('/'));
    F.core.onForwardError({ type: 'REQUESTERROR', session: a, cxid: 1, err: Err.badArguments, zxid: 0 });
    assert.deepEqual(F.takeReplies(), [
      [1, Err.badArguments, 1],
      [2, Err.ok, 1],
    ]);
    F.request(0, a, 3, create('/s'));
    F.core.onForwardError({ type: 'REQUESTERROR', session: a, cxid: 3, err: Err.connectionLoss, zxid: 0 });
    assert.deepEqual(F.take(), []);
    assert.equal(F.core.hasPendingForLeader(), true);
    F.core.resumeLearnerRequests(1);
    assert.deepEqual(F.rep!.forwarded.map((m) => m.type === 'REQUEST' && m.cxid), [1, 3, 3], 'sent again, even to the same epoch');
  });

  it('a forwarded write no leader answers within the session timeout fails ConnectionLoss on a tick', () => {
    const { F, a } = ensemble();
    F.rep!.epoch = -1;
    F.request(0, a, 1, create('/t'));
    F.tick(4000);
    assert.deepEqual(F.take(), []);
    F.tick(1);
    assert.deepEqual(F.takeReplies(), [[1, Err.connectionLoss, 1]]);
    assert.equal(F.core.stats.expired, 0, 'a learner never expires a global session itself');
  });

  it('replaceState (SNAP): sent writes fail ConnectionLoss, watches fire for what differs, sessions follow the image', () => {
    const { L, F, a } = ensemble();
    // A global session the leader does not have, attached on worker 1 here.
    const ghost = (2n << 56n) | 0x77n;
    F.core.restoreSessions(new Map([[ghost, 4000]]), []);
    F.attach(1, ghost, { create: false, connId: 5 });
    F.core.onForwardError({ type: 'REQUESTERROR', session: ghost, cxid: revalidateXid, err: Err.ok, zxid: 0 });
    F.request(0, a, 1, exists('/snap', true));
    F.request(0, a, 2, setData('/', 'lost'));
    F.take();
    // The leader moves on without this learner: a session of its own, and /snap.
    const l = L.openSession(0);
    L.request(0, l, 1, create('/snap', 'img'));
    L.commitProposed();
    const zxid = L.db.lastZxid;
    assert.equal(zxid, 3);
    const image = serializeSnapshot(L.db.tree, L.core.globalSessions(), zxid);

    F.core.replaceState(zxid, () => loadSnapshotImage(F.db.tree, image, zxid).sessions);
    assert.deepEqual(F.take(), [
      bare(0, a, 2, 1, Err.connectionLoss),
      { kind: 'event', worker: 0, target: 0n, type: EventType.nodeCreated, zxid: 3, path: '/snap', readers: null },
      { kind: 'sessionEnd', worker: 1, session: ghost, reason: SessionEndReason.expired },
    ]);
    assert.equal(F.db.lastZxid, 3);
    assert.equal(F.applied.at(-1), 3);
    assert.deepEqual([...F.core.globalSessions().keys()].sort(), [a, l].sort());
    assert.equal(F.core.sessions.get(sessionIdHi(l), sessionIdLo(l))?.worker, -1, "the leader's session is kept detached");
    // The learner goes on from the image: the next committed txn applies on top of it.
    F.request(0, a, 3, create('/after'));
    leaderCommits(L, F, F.rep!.forwarded.at(-1));
    assert.deepEqual(F.takeReplies(), [[3, Err.ok, 4]]);
  });
});
