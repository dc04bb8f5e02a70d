// The main thread's side of the rings (src/main/bridge.ts): catching up on records the workers
// published without waking it (issue 11 goal 3).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bridge } from '../../src/main/bridge.js';
import type { Core } from '../../src/main/core.js';
import { createChannelDescriptor, type RecordHandler } from '../../src/shm/channel.js';
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

  it('the record whose handling calls catchUp keeps its fields (the views are not shared)', () => {
    const descs = [createChannelDescriptor(), createChannelDescriptor()];
    const workers = descs.map((d) => new WorkerBridge(d));
    const main = new Bridge(descs);
    const seen: string[] = [];
    const core = {
      onAttach: (worker: number, a: AttachView) => {
        const before = `${worker}:${a.sidLo}:${a.connId}:${a.ip}`;
        if (worker === 1) main.catchUp(worker);
        seen.push(`${before} -> ${a.sidLo}:${a.connId}:${a.ip}`);
      },
    } as unknown as Core;
    main.start(core);
    for (const ch of main.channels) ch.stop(); // the test drives worker 1's pump by hand
    try {
      const fields = { sidHi: 1, flags: 0, timeoutMs: 4000, lastZxidSeen: 0, passwdOk: true };
      workers[0]!.sendAttach({ ...fields, sidLo: 5, connId: 50, ip: '10.0.0.5' }, true);
      workers[1]!.sendAttach({ ...fields, sidLo: 6, connId: 60, ip: '10.0.0.6' });
      for (const w of workers) w.publish();
      const pump1 = (main as unknown as { handlers: RecordHandler[] }).handlers[1]!;
      assert.equal(main.channels[1]!.drain(pump1, 10), 1);
      assert.deepEqual(seen, ['0:5:50:10.0.0.5 -> 5:50:10.0.0.5', '1:6:60:10.0.0.6 -> 6:60:10.0.0.6']);
    } finally {
      main.stop();
      for (const w of workers) w.close();
    }
  });
});
