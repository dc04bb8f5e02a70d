// Session worker: the connection throttle at the handshake (issue 11, goal 5). Every
// ConnectRequest takes its weight from the server-wide bucket first (ZooKeeperServer.
// processConnectRequest: connThrottle.checkLimit(tokensNeeded)); one the bucket refuses is closed
// without an answer and without a session.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connThrottleDefaults, createConnThrottle, type ConnThrottle } from '../../../src/shm/connthrottle.js';
import { TestClient } from './harness/client.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, openLocal } from './harness/sessions.js';

describe('session worker connection throttle', () => {
  let main: FakeMain;
  let throttle: ConnThrottle;
  before(async () => {
    // Weights on: 2 global connects = 6 tokens, and none come back during the test.
    const settings = { ...connThrottleDefaults, tokens: 2, fillTimeMs: 2 ** 31 - 1, weightEnabled: true };
    throttle = createConnThrottle(settings, performance.timeOrigin + performance.now());
    main = await FakeMain.start({ connThrottle: throttle });
  });
  after(async () => {
    assert.equal(await main.stop(), 0);
  });

  it('takes the local, renew and global weights, then refuses without an answer or a session', async () => {
    assert.equal(throttle.tokens, 6);
    const local = await openLocal(main);
    assert.equal(throttle.tokens, 5, 'a new local session: 1');

    const again = await TestClient.connect(main.port);
    again.sendConnect({ sessionId: local.response.sessionId, passwd: local.response.passwd });
    const renewed = await again.connectResponse();
    assert.equal(renewed.sessionId, local.response.sessionId);
    assert.equal(throttle.tokens, 3, 're-establishing a session: 2');
    await main.next('attach');

    const global = await openGlobal(main);
    assert.equal(throttle.tokens, 0, 'a new global session: 3');

    const shed = await TestClient.connect(main.port);
    shed.sendConnect({ localSession: true });
    await shed.waitClosed();
    await assert.rejects(shed.frame(100), /closed before a frame/, 'no ConnectResponse');
    const recs = await main.drain(200);
    assert.equal(recs.filter((r) => r.kind === 'attach').length, 0, 'no session made for it');
    assert.equal(throttle.rejected, 1);
    assert.equal(throttle.letThrough, 3);
    assert.ok(await global.client.staysOpen(50), 'sessions already there are not touched');
    for (const c of [local.client, again, global.client]) c.destroy();
  });

  it('takes no tokens from a connect refused because the server is not serving yet', async () => {
    const letThrough = throttle.letThrough;
    const rejected = throttle.rejected;
    main.status.serving = false;
    try {
      const early = await TestClient.connect(main.port);
      early.sendConnect({ localSession: true });
      await early.waitClosed();
    } finally {
      main.status.serving = true;
    }
    assert.deepEqual([throttle.letThrough, throttle.rejected], [letThrough, rejected], 'the throttle never saw it');
  });
});
