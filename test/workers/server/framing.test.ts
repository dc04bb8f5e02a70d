// Session worker: framing, bad input, four-letter words.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpCode } from '../../../src/common/zk.js';
import { TestClient } from './harness/client.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, sleep } from './harness/sessions.js';

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

describe('session worker framing and bad input', () => {
  let main: FakeMain;
  before(async () => {
    main = await FakeMain.start({ init: { juteMaxBufferBytes: 4096 } });
  });
  after(async () => {
    assert.equal(await main.stop(), 0);
  });

  it('reassembles frames split at every byte and frames packed together', async () => {
    const s = await openGlobal(main);
    const frames = Buffer.concat([1, 2, 3].map((xid) => TestClient.requestFrame(xid, OpCode.exists, (w) => {
      w.writeString(`/split/${'x'.repeat(xid * 50)}`);
      w.writeBool(true);
    })));
    for (let i = 0; i < frames.length; i++) {
      s.client.write(frames.subarray(i, i + 1));
      if (i % 40 === 0) await sleep(1);
    }
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await main.next('request', { skip: ['touch'] });
      assert.equal(r.xid, i + 1);
      bodies.push(r.body.subarray(4, r.body.length - 1).toString());
    }
    assert.deepEqual(bodies, [1, 2, 3].map((x) => `/split/${'x'.repeat(x * 50)}`));
    // Several frames in one write.
    s.client.write(Buffer.concat([TestClient.requestFrame(-2, OpCode.ping), TestClient.requestFrame(-2, OpCode.ping)]));
    assert.equal((await s.client.reply()).header.xid, -2);
    assert.equal((await s.client.reply()).header.xid, -2);
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('closes only the connection that sends an oversized frame', async () => {
    const s = await openGlobal(main);
    const other = await openGlobal(main);
    s.client.write(lengthPrefix(4097));
    await s.client.waitClosed();
    other.client.send(-2, OpCode.ping);
    assert.equal((await other.client.reply()).header.xid, -2);
    other.client.destroy();
    await main.next('detach', { skip: ['touch'] });
    await main.next('detach', { skip: ['touch'] });
  });

  it('closes a connection that sends a negative length', async () => {
    const c = await TestClient.connect(main.port);
    c.write(lengthPrefix(-5));
    await c.waitClosed();
  });

  it('closes a connection whose ConnectRequest is malformed', async () => {
    const c = await TestClient.connect(main.port);
    c.write(Buffer.concat([lengthPrefix(6), Buffer.from([0, 0, 0, 0, 0, 1])]));
    await c.waitClosed();
    assert.deepEqual((await main.drain(30)).filter((r) => r.kind !== 'touch'), []);
  });

  it('closes a connection whose request frame is shorter than a RequestHeader', async () => {
    const s = await openGlobal(main);
    s.client.write(Buffer.concat([lengthPrefix(3), Buffer.from([1, 2, 3])]));
    await s.client.waitClosed();
    await main.next('detach', { skip: ['touch'] });
  });

  it('answers ruok itself', async () => {
    const c = await TestClient.connect(main.port);
    c.write(Buffer.from('ruok'));
    await c.waitClosed();
    assert.equal(c.text(), 'imok');
  });

  it('refuses a word off the whitelist in ZooKeeper\'s words', async () => {
    const c = await TestClient.connect(main.port);
    c.write(Buffer.from('envi'));
    await c.waitClosed();
    assert.equal(c.text(), 'envi is not executed because it is not in the whitelist.\n');
  });

  it('asks the main thread for other words and writes its text back', async () => {
    const c = await TestClient.connect(main.port);
    c.write(Buffer.from('stat'));
    const m = await main.message('fourLetter');
    assert.equal(m.word, 'stat');
    assert.equal(m.workerIndex, 0);
    assert.match(m.remote, /^127\.0\.0\.1:\d+$/);
    assert.ok(await c.staysOpen(30));
    main.worker.postMessage({ type: 'fourLetterReply', reqId: m.reqId, text: 'Zookeeper version: test\n' });
    await c.waitClosed();
    assert.equal(c.text(), 'Zookeeper version: test\n');
  });

  it('still answers a word whose client half-closed at once (the netcat case)', async () => {
    const c = await TestClient.connect(main.port);
    c.write(Buffer.from('cons'));
    c.socket.end();
    const m = await main.message('fourLetter');
    main.worker.postMessage({ type: 'fourLetterReply', reqId: m.reqId, text: 'late answer\n' });
    await c.waitClosed();
    assert.equal(c.text(), 'late answer\n');
  });

  it('always allows srvr (zkServer.sh depends on it)', async () => {
    const m2 = await FakeMain.start({ init: { fourLetterWhitelist: [] } });
    try {
      const c = await TestClient.connect(m2.port);
      c.write(Buffer.from('srvr'));
      const m = await m2.message('fourLetter');
      assert.equal(m.word, 'srvr');
      m2.worker.postMessage({ type: 'fourLetterReply', reqId: m.reqId, text: 'ok\n' });
      await c.waitClosed();
      const d = await TestClient.connect(m2.port);
      d.write(Buffer.from('ruok'));
      await d.waitClosed();
      assert.equal(d.text(), 'ruok is not executed because it is not in the whitelist.\n');
    } finally {
      await m2.stop();
    }
  });
});
