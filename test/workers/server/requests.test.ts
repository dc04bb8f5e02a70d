// Session worker: requests, replies, ping, auth, the requests the worker completes itself.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Err, OpCode, WatcherType } from '../../../src/common/zk.js';
import { JuteReader, JuteWriter, encodeResponse } from '../../../src/protocol/jute/index.js';
import { ReplyFlag, SessionFlag, WatchKind } from '../../../src/shm/records.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, openLocal } from './harness/sessions.js';

function getDataBody(w: JuteWriter, path: string, watch: boolean): void {
  w.writeString(path);
  w.writeBool(watch);
}

function cannedGetData(data: string): Buffer {
  const w = new JuteWriter();
  encodeResponse(w, {
    op: 4,
    res: {
      data: Buffer.from(data),
      stat: {
        czxid: 1, mzxid: 2, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7,
        ephemeralOwner: 0n, dataLength: data.length, numChildren: 0, pzxid: 8,
      },
    },
  });
  return w.bytesCopy();
}

describe('session worker requests', () => {
  let main: FakeMain;
  before(async () => {
    main = await FakeMain.start();
  });
  after(async () => {
    assert.equal(await main.stop(), 0);
  });

  it('forwards pipelined requests raw and writes the replies in order', async () => {
    const s = await openGlobal(main, { timeoutMs: 12000 });
    for (let xid = 1; xid <= 5; xid++) s.client.send(xid, OpCode.getData, (w) => getDataBody(w, `/node${xid}`, false));
    const reqs = [];
    for (let i = 0; i < 5; i++) reqs.push(await main.next('request', { skip: ['touch'] }));
    assert.deepEqual(reqs.map((r) => r.xid), [1, 2, 3, 4, 5]);
    for (const r of reqs) {
      assert.equal(r.op, OpCode.getData);
      assert.equal(r.sidHi, s.sidHi);
      assert.equal(r.sidLo, s.sidLo);
      assert.equal(r.flags, 0);
      assert.equal(r.timeoutMs, 12000);
      const rd = new JuteReader(r.body);
      assert.equal(rd.readString(), `/node${r.xid}`, 'the body is the raw jute after the RequestHeader');
      assert.equal(rd.readBool(), false);
      assert.equal(rd.remaining, 0);
    }
    for (const r of reqs) main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: r.xid, zxid: 90 + r.xid }, cannedGetData(`d${r.xid}`));
    for (let xid = 1; xid <= 5; xid++) {
      const rep = await s.client.reply();
      assert.equal(rep.header.xid, xid);
      assert.equal(rep.header.zxid, 90 + xid);
      assert.equal(rep.header.err, 0);
      assert.deepEqual(rep.body, cannedGetData(`d${xid}`));
    }
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('passes an error reply through with its code', async () => {
    const s = await openGlobal(main);
    s.client.send(1, OpCode.getData, (w) => getDataBody(w, '/missing', false));
    const r = await main.next('request', { skip: ['touch'] });
    main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: 1, err: Err.noNode });
    const rep = await s.client.reply();
    assert.equal(rep.header.err, Err.noNode);
    assert.equal(rep.body.length, 0);
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('answers pings itself with the last zxid', async () => {
    const s = await openGlobal(main);
    main.status.lastZxid = 0x100000005;
    try {
      s.client.send(-2, OpCode.ping);
      const rep = await s.client.reply();
      assert.deepEqual(rep.header, { xid: -2, zxid: 0x100000005, err: 0 });
      const recs = await main.drain(50);
      assert.ok(recs.every((r) => r.kind === 'touch'), 'a ping is not forwarded');
    } finally {
      main.status.lastZxid = 100;
    }
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('flags requests of local sessions', async () => {
    const s = await openLocal(main, { timeoutMs: 5000 });
    s.client.send(1, OpCode.exists, (w) => getDataBody(w, '/x', false));
    const r = await main.next('request');
    assert.equal(r.flags, SessionFlag.local);
    assert.equal(r.timeoutMs, 5000);
    s.client.destroy();
    await main.next('detach');
  });

  it('authenticates digest ids, tells the main thread, answers whoAmI', async () => {
    const s = await openGlobal(main);
    s.client.send(-4, OpCode.auth, (w) => {
      w.writeInt(0);
      w.writeString('digest');
      w.writeBuffer(Buffer.from('alice:secret'));
    });
    const rep = await s.client.reply();
    assert.deepEqual(rep.header, { xid: -4, zxid: 0, err: 0 });
    const auth = await main.next('auth', { skip: ['touch'] });
    const digest = createHash('sha1').update('alice:secret').digest('base64');
    assert.deepEqual(auth, { kind: 'auth', sidHi: s.sidHi, sidLo: s.sidLo, scheme: 'digest', id: `alice:${digest}` });

    s.client.send(7, OpCode.whoAmI);
    const req = await main.next('request', { skip: ['touch'] });
    assert.equal(req.op, OpCode.whoAmI);
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 7, zxid: 100, flags: ReplyFlag.workerCompletes });
    const who = await s.client.reply();
    assert.equal(who.header.xid, 7);
    const r = new JuteReader(who.body);
    assert.equal(r.readInt(), 2);
    // In ZooKeeper's order: ServerCnxn.authInfo is a ConcurrentHashMap-backed set.
    assert.deepEqual([r.readString(), r.readString()], ['digest', 'alice']);
    assert.deepEqual([r.readString(), r.readString()], ['ip', '127.0.0.1']);
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('fails an unknown auth scheme with AuthFailed and closes', async () => {
    const s = await openGlobal(main);
    s.client.send(-4, OpCode.auth, (w) => {
      w.writeInt(0);
      w.writeString('kerberos');
      w.writeBuffer(Buffer.from('x'));
    });
    const rep = await s.client.reply();
    assert.equal(rep.header.err, Err.authFailed);
    await s.client.waitClosed();
    await main.next('detach', { skip: ['touch'] });
  });

  it('answers removeWatches / checkWatches itself when the main thread says workerCompletes', async () => {
    const s = await openGlobal(main);
    main.watchRegister({ sidHi: s.sidHi, sidLo: s.sidLo, kind: WatchKind.data, path: '/w' });
    main.watchRegister({ sidHi: s.sidHi, sidLo: s.sidLo, kind: WatchKind.child, path: '/w' });
    const send = (xid: number, op: number, type: number): void =>
      s.client.send(xid, op, (w) => {
        w.writeString('/w');
        w.writeInt(type);
      });
    const answer = async (): Promise<number> => {
      const r = await main.next('request', { skip: ['touch'] });
      main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: r.xid, flags: ReplyFlag.workerCompletes });
      return (await s.client.reply()).header.err;
    };
    send(1, OpCode.checkWatches, WatcherType.data);
    assert.equal(await answer(), Err.ok);
    send(2, OpCode.removeWatches, WatcherType.data);
    assert.equal(await answer(), Err.ok);
    send(3, OpCode.checkWatches, WatcherType.data);
    assert.equal(await answer(), Err.noWatcher);
    send(4, OpCode.removeWatches, WatcherType.data);
    assert.equal(await answer(), Err.noWatcher);
    send(5, OpCode.checkWatches, WatcherType.children);
    assert.equal(await answer(), Err.ok, 'the child watch is still there');
    send(6, OpCode.removeWatches, WatcherType.any);
    assert.equal(await answer(), Err.ok);
    send(7, OpCode.checkWatches, WatcherType.any);
    assert.equal(await answer(), Err.noWatcher);
    assert.deepEqual((await main.stats({ sections: ['watches'] })).watches?.watchCount, 0);
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('answers an unknown opcode with Unimplemented and closes that connection only', async () => {
    const s = await openGlobal(main);
    const other = await openGlobal(main);
    s.client.send(1, 999);
    const rep = await s.client.reply();
    assert.deepEqual([rep.header.xid, rep.header.err], [1, Err.unimplemented]);
    await s.client.waitClosed();
    assert.ok(await other.client.staysOpen(50));
    other.client.send(-2, OpCode.ping);
    assert.equal((await other.client.reply()).header.xid, -2);
    other.client.destroy();
    await main.next('detach', { skip: ['touch'] });
    await main.next('detach', { skip: ['touch'] });
  });

  it('closes the connection when the main thread answers out of the session order', async () => {
    const s = await openGlobal(main);
    s.client.send(1, OpCode.exists, (w) => getDataBody(w, '/a', false));
    s.client.send(2, OpCode.exists, (w) => getDataBody(w, '/b', false));
    await main.next('request', { skip: ['touch'] });
    await main.next('request', { skip: ['touch'] });
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 2 });
    await s.client.waitClosed();
    assert.equal(s.client.queued, 0, 'no reply a client would reject as out of order');
    await main.next('detach', { skip: ['touch'] });
  });

  it('closes the socket after the closeSession reply', async () => {
    const s = await openGlobal(main);
    s.client.send(1, OpCode.closeSession);
    const r = await main.next('request', { skip: ['touch'] });
    assert.equal(r.op, OpCode.closeSession);
    assert.ok(await s.client.staysOpen(30));
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 1 });
    const rep = await s.client.reply();
    assert.equal(rep.header.xid, 1);
    await s.client.waitClosed();
    const recs = await main.drain(50);
    assert.ok(recs.every((x) => x.kind === 'touch'), 'no detach after a closeSession of a global session');
  });

  it('ends a local session on closeSession with detach(localSessionClosed)', async () => {
    const s = await openLocal(main);
    s.client.send(1, OpCode.closeSession);
    await main.next('request');
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 1 });
    await s.client.reply();
    await s.client.waitClosed();
    const d = await main.next('detach');
    assert.equal(d.reason, 2);
  });

  it('reports connections and counts to the stats message', async () => {
    const before = (await main.stats({ sections: ['counts'] })).counts?.outstandingRequests ?? 0;
    const s = await openGlobal(main);
    s.client.send(-2, OpCode.ping);
    await s.client.reply();
    s.client.send(3, OpCode.getData, (w) => getDataBody(w, '/a', false));
    await main.next('request', { skip: ['touch'] });
    const stats = await main.stats();
    const conn = stats.connections?.find((c) => c.sid === `0x${((BigInt(s.sidHi) << 32n) | BigInt(s.sidLo)).toString(16)}`);
    assert.ok(conn);
    assert.equal(conn.queued, 1);
    assert.equal(conn.recved, 3);
    assert.equal(conn.sent, 2);
    assert.equal(conn.lop, 'PING');
    assert.equal(stats.counts?.outstandingRequests, before + 1);
    assert.ok((stats.counts?.globalSessions ?? 0) >= 1);
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 3 }, cannedGetData('x'));
    await s.client.reply();
    const after = await main.stats({ reset: 'connections', sections: ['connections'] });
    const reset = after.connections?.find((c) => c.remote === conn.remote);
    assert.equal(reset?.recved, 0);
    assert.equal(reset?.lop, 'NA');
    assert.equal(after.counts, undefined);
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
  });
});
