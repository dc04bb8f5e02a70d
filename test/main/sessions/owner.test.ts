// Who holds a session (issue 9, item 13), on the main thread's Core: the leader keeps each global
// session's owner (the member whose connection holds it), a learner revalidates a reconnect with
// the leader before answering it, and a connection the session moved away from is answered
// SessionMoved: across members (the leader's owner check, an error txn; the old owner is told)
// and within one member (another worker took the session).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Core, revalidateOp, revalidateXid, type Outbound, type Replication } from '../../../src/main/core.js';
import { MemoryLogStage } from '../../../src/main/pipeline/log-stage.js';
import { createLogger } from '../../../src/main/logger.js';
import type { ForwardMsg } from '../../../src/main/net/codec.js';
import { ZkDatabase, type PreparedTxn } from '../../../src/main/pipeline/database.js';
import type { SessionContext } from '../../../src/main/sessions/table.js';
import { AttachView, RequestView, SessionEndReason, SessionFlag } from '../../../src/shm/records.js';
import { CreateMode, Err, OpCode, Perms } from '../../../src/common/zk.js';
import { JuteWriter, encodeRequest } from '../../../src/protocol/jute/index.js';

type Call = { kind: string; worker: number; err?: number; xid?: number; connId?: number; reason?: number };

class FakeOut implements Outbound {
  calls: Call[] = [];
  reply(worker: number, _s: SessionContext, xid: number, _zxid: number, err: number): void {
    this.calls.push({ kind: 'reply', worker, xid, err });
  }
  attached(worker: number, _hi: number, _lo: number, connId: number, err: number): void {
    this.calls.push({ kind: 'attached', worker, connId, err });
  }
  event(): void {}
  watchRegister(): void {}
  sessionEnd(worker: number, _s: SessionContext, reason: number): void {
    this.calls.push({ kind: 'sessionEnd', worker, reason });
  }
  upgraded(): void {}
  flush(): void {}
  take(): Call[] {
    return this.calls.splice(0);
  }
}

class FakeReplication implements Replication {
  leading = false;
  proposed: PreparedTxn[] = [];
  forwarded: ForwardMsg[] = [];
  notified: { to: number; m: ForwardMsg }[] = [];
  writable(): boolean {
    return this.leading;
  }
  propose(p: PreparedTxn): void {
    this.proposed.push(p);
  }
  forward(m: ForwardMsg): number {
    this.forwarded.push(m);
    return 1;
  }
  notify(to: number, m: ForwardMsg): void {
    this.notified.push({ to, m });
  }
}

const sid = (7n << 56n) | 0x1234n;
const hi = Number(sid >> 32n);
const lo = Number(sid & 0xffffffffn);

function coreWith(serverId: number, replication: Replication | null): { core: Core; out: FakeOut } {
  const db = new ZkDatabase({ extendedTypesEnabled: false });
  const out = new FakeOut();
  const opts = { tickTimeMs: 200, localSessionsUpgradingEnabled: false, extendedTypesEnabled: false, serverId, sessionSecretConfigured: true };
  const core = new Core({
    db,
    log: new MemoryLogStage<PreparedTxn>(),
    out,
    opts,
    logger: createLogger('silent', 'test'),
    now: Date.now,
    onApplied: () => {},
    replication,
  });
  return { core, out };
}

function attach(fields: Partial<AttachView>): AttachView {
  return Object.assign(new AttachView(), { sidHi: hi, sidLo: lo, timeoutMs: 4000, connId: 1, passwdOk: true, ip: '10.0.0.1', ...fields });
}

function request(xid: number, op: number): RequestView {
  return Object.assign(new RequestView(), { sidHi: hi, sidLo: lo, xid, op, bodyOffset: 0, end: 0 });
}

function forwarded(op: number, cxid: number): Extract<ForwardMsg, { type: 'REQUEST' }> {
  return { type: 'REQUEST', session: sid, cxid, op, body: new Uint8Array(0), authIds: [], timeoutMs: 4000, local: false };
}

describe('session owner at the leader', () => {
  it('adopts the first forwarded writer, moves on revalidation, tells the old owner, refuses its writes', () => {
    const rep = new FakeReplication();
    rep.leading = true;
    const { core } = coreWith(1, rep);
    core.restoreSessions(new Map([[sid, 4000]]), []);
    // Member 3 forwards a write (unreadable body: an error txn, but it takes the session).
    assert.equal(core.onForwardedRequest(forwarded(OpCode.setData, 1), 3), null);
    assert.equal(rep.proposed.pop()?.txn.type, OpCode.error);
    // The client reconnects to member 2: the leader answers Ok and tells member 3.
    const answer = core.onForwardedRequest(forwarded(revalidateOp, revalidateXid), 2);
    assert.deepEqual(answer, { type: 'REQUESTERROR', session: sid, cxid: revalidateXid, err: Err.ok, zxid: 0 });
    assert.deepEqual(rep.notified, [{ to: 3, m: { type: 'REQUESTERROR', session: sid, cxid: revalidateXid, err: Err.sessionMoved, zxid: 0 } }]);
    // Member 3's next write: an error txn SessionMoved (its answer keeps its place in order).
    assert.equal(core.onForwardedRequest(forwarded(OpCode.closeSession, 2), 3), null);
    const moved = rep.proposed.pop();
    assert.equal(moved?.hdr.type, OpCode.error);
    assert.deepEqual(moved?.txn, { type: OpCode.error, err: Err.sessionMoved });
    // Member 2's write is prepared as usual (not SessionMoved).
    assert.equal(core.onForwardedRequest(forwarded(OpCode.setData, 3), 2), null);
    assert.notDeepEqual(rep.proposed.pop()?.txn, { type: OpCode.error, err: Err.sessionMoved });
    // Session 0 is the server's own: a forwarded request cannot use it (it may set the secret).
    const system = core.onForwardedRequest({ ...forwarded(OpCode.setData, 1), session: 0n }, 2);
    assert.equal(system?.type === 'REQUESTERROR' ? system.err : 0, Err.badArguments);
    // An unknown session is refused as expired.
    const unknown = core.onForwardedRequest({ ...forwarded(revalidateOp, revalidateXid), session: 99n }, 2);
    assert.equal(unknown?.type === 'REQUESTERROR' ? unknown.err : 0, Err.sessionExpired);
  });

  it("fences the leader's own connection when a learner takes the session", () => {
    const rep = new FakeReplication();
    rep.leading = true;
    const { core, out } = coreWith(1, rep);
    core.restoreSessions(new Map([[sid, 4000]]), []);
    core.onAttach(0, attach({ connId: 5 }));
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 0, connId: 5, err: Err.ok }]);
    core.onForwardedRequest(forwarded(revalidateOp, revalidateXid), 2);
    core.onRequest(0, request(9, OpCode.getData), new Uint8Array(0));
    assert.deepEqual(out.take(), [{ kind: 'reply', worker: 0, xid: 9, err: Err.sessionMoved }]);
    // Back on the leader: served again (no revalidation needed: the leader is the owner).
    core.onAttach(0, attach({ connId: 6 }));
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 0, connId: 6, err: Err.ok }]);
    assert.equal(rep.notified.at(-1)?.to, 2, 'member 2 is told it lost the session');
  });
});

describe('session revalidation on a learner', () => {
  it('answers a reconnect only after the leader, and fences the session when told it moved', () => {
    const rep = new FakeReplication();
    const { core, out } = coreWith(2, rep);
    core.restoreSessions(new Map([[sid, 4000]]), []);
    core.onAttach(1, attach({ connId: 8 }));
    assert.deepEqual(out.take(), [], 'no answer before the leader');
    assert.deepEqual(rep.forwarded.pop(), { ...forwarded(revalidateOp, revalidateXid), timeoutMs: 4000 });
    core.onForwardError({ type: 'REQUESTERROR', session: sid, cxid: revalidateXid, err: Err.ok, zxid: 0 });
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 1, connId: 8, err: Err.ok }]);
    // The leader says the session moved to another member: what its old connection sends here
    // is answered SessionMoved, reads included.
    core.onForwardError({ type: 'REQUESTERROR', session: sid, cxid: revalidateXid, err: Err.sessionMoved, zxid: 0 });
    core.onRequest(1, request(3, OpCode.exists), new Uint8Array(0));
    assert.deepEqual(out.take(), [{ kind: 'reply', worker: 1, xid: 3, err: Err.sessionMoved }]);
    // A session the leader does not know: expired.
    core.onAttach(1, attach({ connId: 9 }));
    core.onForwardError({ type: 'REQUESTERROR', session: sid, cxid: revalidateXid, err: Err.sessionExpired, zxid: 0 });
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 1, connId: 9, err: Err.sessionExpired }]);
  });

  it('attaches alone when the leader is lost meanwhile', () => {
    const rep = new FakeReplication();
    const { core, out } = coreWith(2, rep);
    core.restoreSessions(new Map([[sid, 4000]]), []);
    core.onAttach(0, attach({ connId: 4 }));
    core.leaderLost();
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 0, connId: 4, err: Err.ok }]);
  });
});

describe('a session that moves between workers of one member', () => {
  it('answers its old connection SessionMoved; a wrong password changes nothing', async () => {
    const { core, out } = coreWith(0, null);
    core.onAttach(0, attach({ flags: SessionFlag.create, connId: 1 }));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 0, connId: 1, err: Err.ok }]);
    core.onAttach(1, attach({ connId: 2, passwdOk: false }));
    assert.deepEqual(out.take(), [{ kind: 'attached', worker: 1, connId: 2, err: Err.sessionExpired }], 'the holder is not told anything');
    core.onAttach(1, attach({ connId: 3 }));
    assert.deepEqual(out.take(), [
      { kind: 'sessionEnd', worker: 0, reason: SessionEndReason.moved },
      { kind: 'attached', worker: 1, connId: 3, err: Err.ok },
    ]);
    core.onRequest(0, request(4, OpCode.setData), new Uint8Array(0));
    assert.deepEqual(out.take(), [{ kind: 'reply', worker: 0, xid: 4, err: Err.sessionMoved }]);
  });
});

describe('replies due to a connection the session left for another worker', () => {
  it('are not sent to the new worker (whose connection never asked), and what waited is dropped', async () => {
    const { core, out } = coreWith(0, null);
    core.onAttach(0, attach({ flags: SessionFlag.create, connId: 1 }));
    await new Promise((r) => setImmediate(r));
    out.take();
    // The old connection (worker 0) sends a write and a read behind it; before the write is
    // durable the client reconnects on worker 1.
    const w = new JuteWriter();
    encodeRequest(w, { op: OpCode.create, req: { path: '/stale', data: null, acl: [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }], flags: CreateMode.persistent } });
    const body = Uint8Array.from(w.bytes());
    core.onRequest(0, Object.assign(request(1, OpCode.create), { end: body.length }), body);
    core.onRequest(0, request(2, OpCode.exists), new Uint8Array(0));
    core.onAttach(1, attach({ connId: 2 }));
    await new Promise((r) => setImmediate(r));
    const calls = out.take();
    assert.deepEqual(calls.filter((c) => c.kind === 'reply'), [], 'nothing for the old connection goes to worker 1');
    assert.deepEqual(calls.at(-1), { kind: 'attached', worker: 1, connId: 2, err: Err.ok });
    // The new connection is served in its own order.
    core.onRequest(1, Object.assign(request(1, OpCode.exists), { end: 0 }), new Uint8Array(0));
    assert.deepEqual(out.take().map((c) => [c.kind, c.worker, c.xid]), [['reply', 1, 1]]);
  });
});
