// Unit tests of src/workers/session/auth.ts (digestId) and of the auth packet the session worker
// answers itself (server.ts #auth: the digest and ip providers, super first, any other scheme
// fails). Ported from the tests of src/main/auth.ts, a dead copy of the same logic, with the same
// inputs and expected ids. Golden digests were produced by ZooKeeper 3.8's own
// DigestAuthenticationProvider.generateDigest.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Err, OpCode } from '../../../src/common/zk.js';
import { JuteReader, JuteWriter } from '../../../src/protocol/jute/index.js';
import { ReplyFlag } from '../../../src/shm/records.js';
import { authUser, digestId, encodeWhoAmI } from '../../../src/workers/session/auth.js';
import { FakeMain } from '../server/harness/fake-main.js';
import { openGlobal, type OpenSession } from '../server/harness/sessions.js';

describe('auth helpers', () => {
  it('whoAmI lists the connection ids, digest users without their hash (AuthUtil.getClientInfos)', () => {
    // Moved here from the main thread's reads test: the main thread never answers whoAmI (the
    // worker does, from its own ids), so that branch of pipeline/reads.ts was dead and went.
    const w = new JuteWriter();
    encodeWhoAmI(w, '127.0.0.1', ['alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=']);
    const r = new JuteReader(w.bytes());
    const n = r.readInt();
    const infos = Array.from({ length: n }, () => ({ authScheme: r.readString(), user: r.readString() }));
    assert.deepEqual(
      infos.sort((a, b) => a.authScheme.localeCompare(b.authScheme)),
      [
        { authScheme: 'digest', user: 'alice' },
        { authScheme: 'ip', user: '127.0.0.1' },
      ],
    );
  });
  it('computes digest ids as ZooKeeper does', () => {
    // DigestAuthenticationProvider.generateDigest("super:test")
    assert.equal(digestId('super:test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.equal(authUser('digest', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='), 'super');
    assert.equal(authUser('ip', '10.0.0.1'), '10.0.0.1');
  });
});

const superAdmin = 'super:xQJmxLMiHGwaqBvst5y6rkB6HQs=';

describe('digestId (DigestAuthenticationProvider.generateDigest)', () => {
  it('matches ZooKeeper 3.8 byte for byte', () => {
    assert.equal(digestId('super:admin'), superAdmin);
    assert.equal(digestId('alice:secret'), 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=');
    assert.equal(digestId('b\u00f6b:p\u00e4ss:word'), 'b\u00f6b:2CRf2zcBf713r7U2TCXa/1jAd6Y=');
    assert.equal(digestId('nocolon'), 'nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=');
    assert.equal(digestId(''), ':2jmj7l5rSw0yVb/vlWAYkK/YBwk=');
  });
});

/** Sends an auth packet (xid -4) and returns the reply's error code. */
async function auth(s: OpenSession, scheme: string, data: string): Promise<number> {
  s.client.send(-4, OpCode.auth, (w) => {
    w.writeInt(0);
    w.writeString(scheme);
    w.writeBuffer(Buffer.from(data));
  });
  const rep = await s.client.reply();
  assert.equal(rep.header.xid, -4);
  return rep.header.err;
}

describe('the auth packet (ProviderRegistry → handleAuthentication)', () => {
  const mains: FakeMain[] = [];
  after(async () => {
    for (const m of mains) assert.equal(await m.stop(), 0);
  });
  async function start(superDigest: string | null): Promise<FakeMain> {
    const m = await FakeMain.start({ init: { superDigest } });
    mains.push(m);
    return m;
  }

  it('adds the digest id, and super first when it is the super digest', async () => {
    const plain = await start(null);
    const a = await openGlobal(plain);
    assert.equal(await auth(a, 'digest', 'super:admin'), Err.ok);
    // The first id the worker hands the main thread is the digest: no super id before it.
    const only = await plain.next('auth', { skip: ['touch'] });
    assert.deepEqual([only.scheme, only.id], ['digest', superAdmin]);
    a.client.destroy();

    const sup = await start(superAdmin);
    const b = await openGlobal(sup);
    assert.equal(await auth(b, 'digest', 'super:admin'), Err.ok);
    const first = await sup.next('auth', { skip: ['touch'] });
    const second = await sup.next('auth', { skip: ['touch'] });
    assert.deepEqual(
      [
        [first.scheme, first.id],
        [second.scheme, second.id],
      ],
      [
        ['super', ''],
        ['digest', superAdmin],
      ],
    );
    b.client.destroy();
  });

  it('ip adds the remote address; an unknown scheme fails', async () => {
    const main = await start(null);
    const s = await openGlobal(main);
    assert.equal(await auth(s, 'ip', ''), Err.ok);
    // The connection's ids are its address and nothing else (whoAmI lists them).
    s.client.send(7, OpCode.whoAmI);
    const req = await main.next('request', { skip: ['touch'] });
    assert.equal(req.op, OpCode.whoAmI);
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 7, zxid: 100, flags: ReplyFlag.workerCompletes });
    const who = await s.client.reply();
    const r = new JuteReader(who.body);
    assert.equal(r.readInt(), 1);
    assert.deepEqual([r.readString(), r.readString()], ['ip', '127.0.0.1']);

    assert.equal(await auth(s, 'kerberos', ''), Err.authFailed);
    await s.client.waitClosed();
  });
});
