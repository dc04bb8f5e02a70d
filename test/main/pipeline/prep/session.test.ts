// Tests of prep/session.ts: the createSession and closeSession txns, through ZkDatabase (the
// closeSession list's bound has its own topic test, session-close.test.ts).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../../../src/common/zk.js';
import { closeSession, create, ctx, del, newDb, ok, prep } from '../../harness/zk-db.js';

const anon = ctx();

describe('closeSession', () => {
  it('lists tree ephemerals plus outstanding creates, less outstanding deletes', () => {
    const db = newDb();
    const s = ctx(0x42n);
    ok(db, anon, create('/p'), create('/q'));
    ok(db, s, create('/p/e1', { flags: 1 }), create('/p/e2', { flags: 1 }), create('/p/keep'));
    ok(db, ctx(0x43n), create('/q/other', { flags: 1 }));
    const pending = [prep(db, s, create('/p/e3', { flags: 3 })), prep(db, s, del('/p/e1'))];
    const p = prep(db, s, closeSession);
    assert.equal(p.hdr.type, OpCode.closeSession);
    assert.deepEqual(p.txn, { type: -11, paths2Delete: ['/p/e2', '/p/e30000000003'] });
    // A delete of the parent pipelined after the close sees the children go.
    assert.equal(prep(db, anon, del('/p/keep')).txn.type, 2);
    const last = prep(db, anon, del('/p'));
    assert.equal(last.txn.type, 2);
    for (const x of pending) db.apply(x);
    const r = db.apply(p);
    assert.deepEqual(
      r.triggers.map((t) => t.path),
      ['/p/e2', '/p', '/p/e30000000003', '/p'],
    );
    assert.equal(db.tree.ephemeralsOf(0x42n), undefined);
    assert.ok(db.tree.getNode('/q/other'));
  });
  it('a local session has no closeSession txn', () => {
    const db = newDb();
    assert.throws(() => prep(db, ctx(1n, { local: true }), closeSession));
  });
  it('createSession carries the timeout', () => {
    const db = newDb();
    const p = prep(db, ctx(9n), { op: -10, req: null, timeOut: 30000 });
    assert.equal(p.hdr.type, OpCode.createSession);
    assert.deepEqual(p.txn, { type: -10, timeOut: 30000 });
    const r = db.apply(p);
    assert.equal(r.err, 0);
    assert.equal(r.response, null);
  });
});
