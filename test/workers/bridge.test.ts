// The worker's side of its channel (src/workers/bridge.ts): which records wake the main thread
// at once and which go quiet (issue 11 goal 3: a wake-up per burst of connects or drops).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Channel, createChannelDescriptor } from '../../src/shm/channel.js';
import { DetachReason, SessionFlag } from '../../src/shm/records.js';
import { Bridge } from '../../src/workers/bridge.js';

describe('worker Bridge: quiet records', () => {
  const attach = { sidHi: 1, sidLo: 2, flags: SessionFlag.local | SessionFlag.create, timeoutMs: 4000, lastZxidSeen: 0, connId: 3, passwdOk: true, ip: '10.0.0.1' };

  it("a quiet attach and a closed connection's detach are published without a wake-up; others wake at once", () => {
    const desc = createChannelDescriptor();
    const main = new Channel(desc, 'main');
    const b = new Bridge(desc);
    const cases: Array<[string, () => void, boolean]> = [
      ['new local attach', () => b.sendAttach(attach, true), true],
      ['attach awaiting an answer', () => b.sendAttach({ ...attach, flags: SessionFlag.create }), false],
      ['connection closed', () => b.sendDetach(1, 2, 3, DetachReason.connectionClosed), true],
      ['local session expired', () => b.sendDetach(1, 2, 3, DetachReason.localSessionExpired), false],
      ['local session closed', () => b.sendDetach(1, 2, 3, DetachReason.localSessionClosed), false],
    ];
    for (const [name, send, quiet] of cases) {
      send();
      b.publish();
      assert.equal(b.channel.quietUnrung, quiet, name);
      assert.equal(main.drain(() => {}, 10), 1, `${name}: published`);
      b.channel.wakePeer();
    }
    b.close();
    main.close();
  });
});
