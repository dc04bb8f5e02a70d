// src/client/hosts.ts: connect strings and the host list (no server).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostProvider, ZkError, parseConnectString } from '../../src/client/index.js';

describe('connect strings and hosts', () => {
  test('parseConnectString: hosts, default port, IPv6, chroot', () => {
    const p = parseConnectString('a:1, b ,[::1]:3,[fe80::1]/app/x');
    assert.deepEqual(p.hosts, [
      { host: 'a', port: 1 },
      { host: 'b', port: 2181 },
      { host: '::1', port: 3 },
      { host: 'fe80::1', port: 2181 },
    ]);
    assert.equal(p.chroot, '/app/x');
    assert.equal(parseConnectString('h:2/').chroot, '');
    assert.throws(() => parseConnectString('h:2/a/'), ZkError);
    assert.throws(() => parseConnectString(''), ZkError);
    assert.throws(() => parseConnectString('h:x'), ZkError);
  });

  test('parseConnectString: ws:// hosts (the WebSocket transport), a chroot after #', () => {
    const p = parseConnectString('ws://a:8081/zookeeper, b:2 ,ws://[::1]:9/x/y#/app');
    assert.deepEqual(p.hosts, [
      { host: 'a', port: 8081, wsPath: '/zookeeper' },
      { host: 'b', port: 2 },
      { host: '::1', port: 9, wsPath: '/x/y' },
    ]);
    assert.equal(p.chroot, '/app');
    assert.deepEqual(parseConnectString('ws://h').hosts, [{ host: 'h', port: 80, wsPath: '/' }]);
    assert.equal(parseConnectString('ws://h:1/z#/').chroot, '');
    assert.throws(() => parseConnectString('ws://h:1/z,b:2/app'), ZkError, 'a chroot with ws hosts follows #');
    assert.throws(() => parseConnectString('http://h:1/z'), ZkError);
    assert.throws(() => parseConnectString('ws://h:1/z?x=1'), ZkError);
    assert.throws(() => parseConnectString('ws://h:1/z#app'), ZkError);
    assert.throws(() => parseConnectString('ws://:1/z'), ZkError);
  });

  test('HostProvider: round robin, spin after a full cycle, reset by onConnected', () => {
    const hp = new HostProvider([{ host: 'a', port: 1 }, { host: 'b', port: 2 }], false);
    assert.deepEqual([hp.next(), hp.next(), hp.next()].map((n) => `${n.host.host}${n.spin}`), ['afalse', 'bfalse', 'atrue']);
    hp.onConnected(); // connected to a
    assert.deepEqual([hp.next(), hp.next()].map((n) => `${n.host.host}${n.spin}`), ['bfalse', 'atrue']);
    const shuffled = new Set<string>();
    for (let i = 0; i < 50; i++) {
      shuffled.add(new HostProvider([1, 2, 3].map((n) => ({ host: `h${n}`, port: n }))).hosts.map((h) => h.host).join());
    }
    assert.ok(shuffled.size > 1, 'hosts are shuffled');
  });
});
