// The main thread's session table: global sessions expire by tick buckets from their last touch;
// local ones never expire here; slots are reused after a session leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionContext, SessionTable } from '../../../src/main/sessions/table.js';

function session(lo: number, timeoutMs: number, local = false): SessionContext {
  return new SessionContext({ id: BigInt(lo), hi: 0, lo, worker: 0, connId: 1, timeoutMs, local, ip: '127.0.0.1' });
}

test('a global session expires one bucket after its last touch; local ones never here', () => {
  const t = new SessionTable(100, 0);
  const g = session(1, 400);
  const l = session(2, 400, true);
  t.add(g, 0);
  t.add(l, 0);
  assert.deepEqual(t.expire(400), []);
  t.touch(g, 300); // now due at the bucket after 700
  assert.deepEqual(t.expire(600), []);
  assert.deepEqual(t.expire(800), [g]);
  assert.deepEqual(t.expire(5000), [], 'expired sessions leave the queue');
  assert.deepEqual(t.counts, { global: 1, local: 1 });
});

test('unbucket and closing stop expiry; remove frees the slot for the next session', () => {
  const t = new SessionTable(100, 0);
  const a = session(1, 200);
  t.add(a, 0);
  t.unbucket(a);
  a.closing = true;
  t.touch(a, 0);
  assert.deepEqual(t.expire(1000), []);
  const slot = a.slot;
  t.remove(a);
  assert.equal(a.slot, -1);
  assert.equal(t.get(0, 1), undefined);
  const b = session(2, 200);
  t.add(b, 1000);
  assert.equal(b.slot, slot, 'the slot is reused');
  assert.deepEqual(t.expire(1300), [b]);
});

test('an upgraded local session starts expiring', () => {
  const t = new SessionTable(100, 0);
  const s = session(3, 200, true);
  t.add(s, 0);
  assert.deepEqual(t.expire(1000), []);
  t.upgrade(s, 1000);
  assert.deepEqual(t.counts, { global: 1, local: 0 });
  assert.deepEqual(t.expire(1300), [s]);
});
