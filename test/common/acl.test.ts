// Unit tests of src/common/acl.ts (checkACL, fixupACL, the ip and digest schemes, getACL masking).
// The digest hash and the auth packet are tested in test/workers/session/auth.test.ts. The golden
// digest below was produced by ZooKeeper 3.8's own DigestAuthenticationProvider.generateDigest.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAcl,
  defaultAuthProviders,
  digestProvider,
  fixupAcl,
  ipProvider,
  maskDigestAcl,
  openAclUnsafe,
  removeDuplicateAcls,
  type ACL,
  type Id,
  x509Provider,
} from '../../src/common/acl.js';
import { aclEntriesMax } from '../../src/common/limits.js';
import { Err, Perms } from '../../src/common/zk.js';

const alice: Id = { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' };
const ip: Id = { scheme: 'ip', id: '127.0.0.1' };
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });

describe('checkAcl (ZooKeeperServer.checkACL)', () => {
  it('world:anyone grants the perms it lists', () => {
    assert.equal(checkAcl(openAclUnsafe, Perms.write, [ip]), true);
    assert.equal(checkAcl([acl(Perms.read, 'world', 'anyone')], Perms.write, [ip]), false);
    assert.equal(checkAcl([acl(Perms.read, 'world', 'anyone')], Perms.read, []), true);
  });
  it('an empty ACL lets everyone in', () => assert.equal(checkAcl([], Perms.admin, []), true));
  it('super overrides everything', () => {
    assert.equal(
      checkAcl([acl(Perms.read, 'digest', 'x:y')], Perms.admin, [{ scheme: 'super', id: '' }]),
      true,
    );
  });
  it('digest ids match exactly, by scheme', () => {
    const a = [acl(Perms.all, 'digest', alice.id)];
    assert.equal(checkAcl(a, Perms.delete, [ip, alice]), true);
    assert.equal(checkAcl(a, Perms.delete, [ip, { scheme: 'digest', id: 'alice:other' }]), false);
    assert.equal(checkAcl(a, Perms.delete, [{ scheme: 'ip', id: alice.id }]), false);
  });
  it('any perm bit in common is enough (READ|ADMIN for getACL)', () => {
    assert.equal(
      checkAcl([acl(Perms.admin, 'world', 'anyone')], Perms.read | Perms.admin, []),
      true,
    );
  });
  it('ip ACLs match by CIDR', () => {
    assert.equal(checkAcl([acl(Perms.all, 'ip', '127.0.0.0/8')], Perms.read, [ip]), true);
    assert.equal(checkAcl([acl(Perms.all, 'ip', '10.0.0.0/8')], Perms.read, [ip]), false);
    assert.equal(checkAcl([acl(Perms.all, 'ip', '127.0.0.1')], Perms.read, [ip]), true);
  });
  it('unknown schemes never match', () => {
    assert.equal(
      checkAcl([acl(Perms.all, 'sasl', 'bob')], Perms.read, [{ scheme: 'sasl', id: 'bob' }]),
      false,
    );
  });
});

describe('the ip scheme (IPAuthenticationProvider)', () => {
  it('validates addresses and mask widths', () => {
    for (const good of [
      '1.2.3.4',
      '0.0.0.0/0',
      '10.0.0.0/8',
      '192.168.1.0/24',
      '1.2.3.4/32',
      '::1',
      'fe80::/10',
      '2001:db8::1/128',
      '::ffff:1.2.3.4',
    ]) {
      assert.equal(ipProvider.isValid(good), true, good);
    }
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.4/33',
      '1.2.3.4/-1',
      '1.2.3.4/x',
      'host',
      '',
      '1::2::3',
      '::1/129',
    ]) {
      assert.equal(ipProvider.isValid(bad), false, bad);
    }
  });
  it('masks partial bytes', () => {
    assert.equal(ipProvider.matches('192.168.1.130', '192.168.1.128/25'), true);
    assert.equal(ipProvider.matches('192.168.1.127', '192.168.1.128/25'), false);
    assert.equal(ipProvider.matches('9.9.9.9', '0.0.0.0/0'), true);
    assert.equal(ipProvider.matches('2001:db8::7', '2001:db8::/32'), true);
    assert.equal(ipProvider.matches('2001:db9::7', '2001:db8::/32'), false);
    assert.equal(ipProvider.matches('1.2.3.4', '::/0'), false);
  });
});

describe('the digest scheme (isValid: id.split(":").length == 2)', () => {
  it('follows Java split', () => {
    assert.equal(digestProvider.isValid('a:b'), true);
    assert.equal(digestProvider.isValid(':b'), true);
    assert.equal(digestProvider.isValid('a:b:'), true); // trailing empty strings are dropped
    assert.equal(digestProvider.isValid('a'), false);
    assert.equal(digestProvider.isValid('a:'), false);
    assert.equal(digestProvider.isValid('a:b:c'), false);
    assert.equal(digestProvider.isValid(''), false);
  });
});

describe('fixupAcl (PrepRequestProcessor.fixupACL)', () => {
  it('refuses more than aclEntriesMax entries, before or after auth expands (zkts bound)', () => {
    const ipAcl = (i: number): ACL => acl(Perms.all, 'ip', `10.0.${i >> 8}.${i & 255}`);
    const max = Array.from({ length: aclEntriesMax }, (_, i) => ipAcl(i));
    assert.equal(fixupAcl(max, []).err, Err.ok);
    assert.equal(fixupAcl([...max, ipAcl(aclEntriesMax)], []).err, Err.invalidACL);
    // Duplicates count against the bound: it is checked before anything is looked at.
    assert.equal(fixupAcl([...max, max[0]!], []).err, Err.invalidACL);
    const ids = Array.from({ length: 4 }, (_, i) => ({ scheme: 'digest', id: `u${i}:h` }));
    const auths = Array.from({ length: aclEntriesMax / 4 + 1 }, (_, i) => acl(i % 32, 'auth', `${i}`));
    assert.equal(fixupAcl(auths, ids).err, Err.invalidACL, 'expanded past the bound');
  });
  it('removes duplicates in linear time (40,000 distinct entries)', () => {
    const many = Array.from({ length: 40000 }, (_, i) => acl(Perms.all, 'ip', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`));
    assert.equal(removeDuplicateAcls([...many, ...many]).length, 40000);
  });
  it('refuses an empty list', () => {
    assert.deepEqual(fixupAcl([], [alice]), { err: Err.invalidACL, acl: null });
  });
  it('drops duplicates, keeping the first', () => {
    const a = acl(Perms.all, 'world', 'anyone');
    assert.deepEqual(removeDuplicateAcls([a, { ...a }, acl(1, 'world', 'anyone')]), [
      a,
      acl(1, 'world', 'anyone'),
    ]);
    assert.deepEqual(fixupAcl([a, a], []).acl, [a]);
  });
  it('expands auth to every authenticated id (not ip, not super)', () => {
    const sup = { scheme: 'super', id: '' };
    const bob = { scheme: 'digest', id: 'bob:h' };
    const out = fixupAcl([acl(Perms.read, 'auth', 'ignored')], [ip, sup, alice, bob]);
    assert.deepEqual(out, {
      err: Err.ok,
      acl: [acl(Perms.read, 'digest', alice.id), acl(Perms.read, 'digest', 'bob:h')],
    });
  });
  it('auth without an authenticated id is InvalidACL', () => {
    assert.equal(fixupAcl([acl(Perms.all, 'auth', '')], [ip]).err, Err.invalidACL);
    assert.equal(
      fixupAcl([acl(Perms.all, 'auth', '')], [ip, { scheme: 'super', id: '' }]).err,
      Err.invalidACL,
    );
  });
  it('checks ids of registered schemes and refuses the rest', () => {
    assert.equal(fixupAcl([acl(Perms.all, 'ip', '10.0.0.0/8')], []).err, Err.ok);
    assert.equal(fixupAcl([acl(Perms.all, 'ip', '10.0.0')], []).err, Err.invalidACL);
    assert.equal(fixupAcl([acl(Perms.all, 'digest', 'foo')], []).err, Err.invalidACL);
    assert.equal(fixupAcl([acl(Perms.all, 'world', 'foo')], []).err, Err.invalidACL);
    assert.equal(fixupAcl([acl(Perms.all, 'super', '')], []).err, Err.invalidACL);
    assert.equal(fixupAcl([acl(Perms.all, 'sasl', 'bob')], []).err, Err.invalidACL);
  });
  it('one bad entry spoils the list', () => {
    assert.equal(
      fixupAcl([acl(Perms.all, 'world', 'anyone'), acl(1, 'ip', 'x')], []).err,
      Err.invalidACL,
    );
  });
});

describe('maskDigestAcl (getACL without ADMIN)', () => {
  it('replaces everything after the first colon of digest ids', () => {
    const masked = maskDigestAcl([
      acl(31, 'digest', alice.id),
      acl(1, 'world', 'anyone'),
      acl(1, 'ip', '1.2.3.4'),
    ]);
    assert.deepEqual(masked, [
      acl(31, 'digest', 'alice:x'),
      acl(1, 'world', 'anyone'),
      acl(1, 'ip', '1.2.3.4'),
    ]);
  });
});

describe('the x509 scheme (X509AuthenticationProvider, with secureClientPort)', () => {
  it('isValid takes a DN; matches exactly, or anything for the superUser DN', () => {
    const p = x509Provider('CN=admin');
    assert.equal(p.isValid('CN=client,O=zkts,C=US'), true);
    assert.equal(p.isValid('CN=a\\,b,O=x'), true);
    assert.equal(p.isValid(''), false);
    assert.equal(p.isValid('client'), false);
    assert.equal(p.isValid('CN=a,,O=b'), false);
    assert.equal(p.matches('CN=client', 'CN=client'), true);
    assert.equal(p.matches('CN=other', 'CN=client'), false);
    assert.equal(p.matches('CN=admin', 'CN=client'), true);
    assert.equal(x509Provider(null).matches('CN=admin', 'CN=client'), false);
    assert.equal(p.isAuthenticated, true);
  });
  it('fixupAcl: an x509 id is kept where the scheme is registered, InvalidACL where not', () => {
    const acl = [{ perms: Perms.all, id: { scheme: 'x509', id: 'CN=client' } }];
    const providers = new Map([...defaultAuthProviders, ['x509', x509Provider(null)]]);
    assert.equal(fixupAcl(acl, [], providers).err, Err.ok);
    assert.equal(fixupAcl(acl, []).err, Err.invalidACL);
  });
});
