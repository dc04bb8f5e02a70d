// Unit tests of the READ filter's halves (issue 9, item 5): the readers the main thread works out
// from an ACL (src/main/watches/readers.ts), their trip through an event record (src/shm/records.ts),
// and the worker's match against a session's ids (src/workers/watches/readers.ts), checked
// against checkAcl(READ), ZooKeeperServer.checkACL's twin.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAcl, defaultAuthProviders, type ACL, type Id, x509Provider, x509ReaderId } from '../../../src/common/acl.js';
import { EventType, Perms } from '../../../src/common/zk.js';
import { readersOf, superOnlyReaders } from '../../../src/main/watches/readers.js';
import { eventReadersBytesMax } from '../../../src/shm/limits.js';
import { encodeEvent, eventBytes, EventView } from '../../../src/shm/records.js';
import { mayRead } from '../../../src/workers/watches/readers.js';

const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });
const alice = 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=';
const bob = 'bob:X4ey6Yk6bF9xb9vDQ7Q8rZVH6xQ=';

describe('readersOf', () => {
  it('is null (everyone) for an empty ACL, a missing one, or world:anyone with READ', () => {
    assert.equal(readersOf(null).readers, null);
    assert.equal(readersOf([]).readers, null);
    assert.equal(readersOf([acl(Perms.read, 'world', 'anyone'), acl(Perms.all, 'digest', alice)]).readers, null);
  });
  it('keeps the digest, x509 and ip ids of entries granting READ, once each, and nothing else', () => {
    const r = readersOf([
      acl(Perms.write, 'world', 'anyone'),
      acl(Perms.read | Perms.write, 'digest', alice),
      acl(Perms.read, 'digest', alice),
      acl(Perms.write, 'digest', bob),
      acl(Perms.read, 'ip', '10.0.0.0/8'),
      acl(Perms.read, 'x509', 'CN=someone'),
      acl(Perms.read, 'sasl', 'someone'),
    ]);
    assert.deepEqual(r.readers, { digestIds: [alice, x509ReaderId('CN=someone')], ipIds: ['10.0.0.0/8'] });
    assert.equal(r.truncated, false);
  });
  it('answers the same list from its cache', () => {
    const a = [acl(Perms.read, 'digest', alice)];
    assert.equal(readersOf(a), readersOf(a));
  });
  it('sends no list too long for a record: only super sessions see such events', () => {
    const many = Array.from({ length: 4000 }, (_, i) => acl(Perms.read, 'digest', `user${i}:${'x'.repeat(27)}=`));
    const r = readersOf(many);
    assert.equal(r.truncated, true);
    assert.equal(r.readers, superOnlyReaders);
    assert.ok(eventReadersBytesMax < 4000 * 30);
  });
});

describe('event records carry the readers', () => {
  it('round-trips path, type, zxid and readers; an open event has none', () => {
    const buf = new Uint8Array(4096);
    const view = new DataView(buf.buffer);
    const readers = { digestIds: [alice, bob], ipIds: ['127.0.0.1', 'fe80::/10'] };
    const end = encodeEvent(buf, view, 8, { targetHi: 1, targetLo: 2, type: EventType.nodeDataChanged, zxid: 77, path: '/a/ü', readers });
    assert.equal(end - 8, eventBytes('/a/ü', readers));
    const v = new EventView().read(buf, view, 8);
    assert.deepEqual([v.targetHi, v.targetLo, v.type, v.zxid, v.path], [1, 2, EventType.nodeDataChanged, 77, '/a/ü']);
    assert.deepEqual(v.readers, readers);
    encodeEvent(buf, view, 8, { targetHi: 0, targetLo: 0, type: EventType.nodeDeleted, zxid: 78, path: '/b' });
    assert.equal(v.read(buf, view, 8).readers, null);
    assert.equal(v.path, '/b');
  });
});

describe('mayRead agrees with checkAcl(READ)', () => {
  const acls: ACL[][] = [
    [acl(Perms.all, 'digest', alice)],
    [acl(Perms.read, 'ip', '127.0.0.1')],
    [acl(Perms.read, 'ip', '192.168.0.0/16'), acl(Perms.read, 'digest', bob)],
    [acl(Perms.write, 'digest', alice)],
    [acl(Perms.read, 'ip', '::1')],
  ];
  const sessions: { ids: Id[]; digests: string[]; ip: string; superUser: boolean }[] = [
    { ids: [{ scheme: 'ip', id: '127.0.0.1' }], digests: [], ip: '127.0.0.1', superUser: false },
    { ids: [{ scheme: 'ip', id: '192.168.4.5' }, { scheme: 'digest', id: alice }], digests: [alice], ip: '192.168.4.5', superUser: false },
    { ids: [{ scheme: 'ip', id: '10.1.1.1' }, { scheme: 'digest', id: bob }], digests: [bob], ip: '10.1.1.1', superUser: false },
    { ids: [{ scheme: 'ip', id: '::1' }], digests: [], ip: '::1', superUser: false },
    { ids: [{ scheme: 'ip', id: '10.1.1.1' }, { scheme: 'super', id: '' }], digests: [], ip: '10.1.1.1', superUser: true },
  ];
  it('for every pair of ACL and session', () => {
    for (const a of acls) {
      const { readers } = readersOf(a);
      assert.ok(readers !== null);
      for (const s of sessions) {
        assert.equal(
          mayRead(readers, s.superUser, new Set(s.digests), s.ip),
          checkAcl(a, Perms.read, s.ids),
          `${JSON.stringify(a)} / ${JSON.stringify(s.ids)}`,
        );
      }
    }
  });
});

describe('x509 readers (secureClientPort)', () => {
  const providers = new Map([...defaultAuthProviders, ['x509', x509Provider(null)]]);
  const dn = 'CN=client,O=zkts,C=US';
  const acl = [{ perms: Perms.read, id: { scheme: 'x509', id: dn } }];
  it('an x509 ACL admits the connection with that certificate subject only, as checkAcl does', () => {
    const { readers } = readersOf(acl);
    assert.ok(readers !== null);
    for (const [subject, ids] of [
      [dn, [{ scheme: 'ip', id: '1.2.3.4' }, { scheme: 'x509', id: dn }]],
      ['CN=other', [{ scheme: 'ip', id: '1.2.3.4' }, { scheme: 'x509', id: 'CN=other' }]],
      [null, [{ scheme: 'ip', id: '1.2.3.4' }]],
    ] as const) {
      assert.equal(mayRead(readers, false, new Set(), '1.2.3.4', subject), checkAcl(acl, Perms.read, ids, providers), String(subject));
    }
    assert.equal(mayRead(readers, false, new Set(), '1.2.3.4', dn), true);
  });
});
