// The main thread's side of the rings (src/main/bridge.ts): catching up on records the workers
// published without waking it (issue 11 goal 3).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bridge } from '../../src/main/bridge.js';
import type { Core } from '../../src/main/core.js';
import { createChannelDescriptor } from '../../src/shm/channel.js';
import type { AttachView } from '../../src/shm/records.js';
import { Bridge as WorkerBridge } from '../../src/workers/bridge.js';

describe('main Bridge.catchUp', () => {
  it("handles every other worker's published records now, in order, and leaves the caller's ring to its pump", () => {
    const descs = [createChannelDescriptor(), createChannelDescriptor(), createChannelDescriptor()];
    const workers = descs.map((d) => new WorkerBridge(d));
    const seen: Array<[number, number]> = [];
    const core = {
      onAttach: (worker: number, a: AttachView) => seen.push([worker, a.sidLo]),
    } as unknown as Core;
    const main = new Bridge(descs);
    main.start(core);
    const attach = (w: number, lo: number): void =>
      workers[w]!.sendAttach({ sidHi: 1, sidLo: lo, flags: 0, timeoutMs: 4000, lastZxidSeen: 0, connId: lo, passwdOk: true, ip: '10.0.0.1' }, true);
    attach(0, 1);
    attach(0, 2);
    attach(1, 3);
    attach(2, 4);
    for (const w of workers) w.publish();
    main.catchUp(1);
    assert.deepEqual(seen, [
      [0, 1],
      [0, 2],
      [2, 4],
    ]);
    main.stop();
    for (const w of workers) w.close();
  });
});
