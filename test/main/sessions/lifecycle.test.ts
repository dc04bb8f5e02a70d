// A session's life on the main thread (src/main/sessions/lifecycle.ts), driven through the Core
// harness: what the core does that the core suite (test/main/core.test.ts) does not pin.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Err } from '../../../src/common/zk.js';
import { SessionEndReason } from '../../../src/shm/records.js';
import { CoreHarness } from '../harness/core.js';

describe('re-establishing a session another worker opened a moment ago (issue 11 goal 3)', () => {
  // A new local session's attach wakes nobody (its client is answered already): it may still be
  // in its worker's ring when the client re-establishes the session through another worker.
  it('the core catches up on the other rings before it finds the session unknown', () => {
    const h = new CoreHarness();
    const id = h.newSessionId();
    const caughtUp: number[] = [];
    Object.assign(h.out, {
      catchUp(worker: number): void {
        caughtUp.push(worker);
        h.attach(0, id, { local: true, connId: 7 }); // what worker 0's ring still held
      },
    });
    h.attach(1, id, { create: false, connId: 9 });
    assert.deepEqual(caughtUp, [1]);
    const calls = h.take();
    assert.deepEqual(
      calls.map((c) => [c.kind, c.worker, c.kind === 'attached' ? c.err : c.kind === 'sessionEnd' ? c.reason : null]),
      [
        ['sessionEnd', 0, SessionEndReason.moved],
        ['attached', 1, Err.ok],
      ],
    );
    assert.deepEqual(h.core.sessions.counts, { global: 0, local: 1 });
  });

  it('unknown after catching up, or a wrong password: the expired answer, as before', () => {
    const h = new CoreHarness();
    let caughtUp = 0;
    Object.assign(h.out, { catchUp: () => caughtUp++ });
    const id = h.newSessionId();
    h.attach(1, id, { create: false, connId: 9 });
    h.attach(1, id, { create: false, connId: 10, passwdOk: false });
    assert.equal(caughtUp, 1, 'a wrong password needs no catching up');
    const errs = h.take().map((c) => (c.kind === 'attached' ? c.err : null));
    assert.deepEqual(errs, [Err.sessionExpired, Err.sessionExpired]);
  });
});

describe('a local session back on the worker that holds it (issue 11 goal 5, herds)', () => {
  // The worker answers such a re-attach itself (session/attach.ts #reattachLocal) and waits for
  // nothing: an `attached` record would only wake it to be dropped, once per session of a herd.
  it('moves the session to its new connection and sends the worker nothing', () => {
    const h = new CoreHarness();
    const id = h.openSession(0, { local: true, connId: 7 });
    h.attach(0, id, { create: false, local: true, connId: 8, ip: '10.0.0.2' });
    assert.deepEqual(h.take(), []);
    const s = h.core.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
    assert.equal(s?.connId, 8);
    assert.deepEqual(s?.authIds, [{ scheme: 'ip', id: '10.0.0.2' }]);
  });

  it('a reconnect the worker cannot answer alone is still answered', () => {
    const h = new CoreHarness();
    const id = h.openSession(0, { local: true, connId: 7 });
    h.attach(1, id, { create: false, connId: 9 }); // another worker: not answered there
    const calls = h.take().map((c) => [c.kind, c.worker]);
    assert.deepEqual(calls, [
      ['sessionEnd', 0],
      ['attached', 1],
    ]);
  });
});
