// TLS on the client port (issue 12, item 3): secureClientPort beside clientPort and alone, with
// ZooKeeper's ssl.* keys; the Java client over Netty (zkCli.sh), kazoo (use_ssl=True) and the zkts
// client; bad input on the TLS port (plaintext, expired / untrusted / missing certificates, a
// handshake that never finishes) closing only that connection, counted in mntr
// (zk_unsuccessful_handshake) and logged; x509 ACLs; the certificate reload.
//
// Certificates are made per run with openssl (harness/certs.ts).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createClient, type ZkClient, type ClientTlsOptions } from '../../src/client/index.js';
import { makeTestCerts, STORE_PASSWORD, type TestCerts } from './harness/certs.js';
import { leaderOf } from './harness/ensemble.js';
import { runKazoo } from './harness/kazoo.js';
import { connectRequest } from './harness/raw.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { cleanOutput } from './harness/zkcli.js';

const base = SUITE_PORTS.clientTls;
const plainPort = suitePort(base, 0);
const securePort = plainPort + 3;
const alonePort = suitePort(base, 1) + 3;

let certs: TestCerts;
let server: ServerHandle;

function tlsOptions(c: TestCerts, who: 'client' | 'other' | 'admin' | 'expired' | 'untrusted' | null = 'client'): ClientTlsOptions {
  const o: ClientTlsOptions = { ca: fs.readFileSync(c.caPem) };
  if (who !== null) {
    o.cert = fs.readFileSync(c[`${who}Cert`]);
    o.key = fs.readFileSync(c[`${who}Key`]);
  }
  return o;
}

/** Every client the tests made: closed at the end whatever a test left open. */
const opened: ZkClient[] = [];

async function connected(hostPort: string, opts: Parameters<typeof createClient>[1]): Promise<ZkClient> {
  const c = createClient(hostPort, { sessionTimeoutMs: 10_000, ...opts });
  opened.push(c);
  await c.waitConnected(20_000);
  return c;
}

/** mntr's value of `key` on the plain port. */
async function mntr(key: string): Promise<number> {
  const text = await fourLetter(plainPort, 'mntr');
  const line = text.split('\n').find((l) => l.startsWith(`${key}\t`));
  assert.ok(line !== undefined, `mntr has ${key}:\n${text}`);
  return Number(line.split('\t')[1]);
}

/** Polls until `f` holds (bounded), for counters another thread bumps. */
async function eventually(what: string, f: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when the socket closes; rejects after timeoutMs. */
function closed(socket: net.Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const t = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** A ConnectRequest frame, written by hand (harness/raw.ts). */
function connectRequestFrame(): Buffer {
  return connectRequest({ timeOut: 10_000 });
}

/**
 * Runs zkCli (ZooKeeperMain, what zkCli.sh runs) over Netty TLS with the given JVM flags; one
 * command. Java directly rather than zkCli.sh: Debian's zookeeper.jar manifest leaves out
 * netty-codec and netty-resolver, which ClientCnxnSocketNetty needs (through zkCli.sh the client
 * fails with NoClassDefFoundError, logged nowhere, and reports ConnectionLoss).
 */
function zkcliTls(hostPort: string, command: string[], jvmFlags: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  const classpath = ['/usr/share/java/zookeeper.jar', '/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'].join(':');
  const args = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...jvmFlags, '-cp', classpath, 'org.apache.zookeeper.ZooKeeperMain', '-server', hostPort, ...command];
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let raw = '';
    child.stdout.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zkCli timed out; output:\n${raw}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, out: cleanOutput(raw).split('\n').filter((l) => !l.includes('Exiting JVM with code')).join('\n') });
    });
  });
}

function javaTlsFlags(c: TestCerts): string[] {
  return [
    '-Dzookeeper.client.secure=true',
    '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
    `-Dzookeeper.ssl.trustStore.location=${c.caP12}`,
    `-Dzookeeper.ssl.trustStore.password=${STORE_PASSWORD}`,
    '-Dzookeeper.ssl.trustStore.type=PKCS12',
    `-Dzookeeper.ssl.keyStore.location=${c.clientP12}`,
    `-Dzookeeper.ssl.keyStore.password=${STORE_PASSWORD}`,
    '-Dzookeeper.ssl.keyStore.type=PKCS12',
  ];
}

before(async () => {
  certs = makeTestCerts();
  server = await startServer('zkts', {
    port: plainPort,
    tickTime: 500,
    extra: {
      secureClientPort: String(securePort),
      serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
      'ssl.keyStore.location': certs.serverP12,
      'ssl.keyStore.password': STORE_PASSWORD,
      'ssl.keyStore.type': 'PKCS12',
      'ssl.trustStore.location': certs.caPem,
      'ssl.trustStore.type': 'PEM',
      'ssl.clientAuth': 'need',
      'X509AuthenticationProvider.superUser': certs.adminDn,
      sessionWorkers: '2',
    },
  });
});

after(async () => {
  for (const c of opened) await c.close().catch(() => {});
  await server?.stop();
  certs?.remove();
});

describe('secureClientPort beside clientPort (PKCS12 key store, clientAuth=need)', () => {
  test('the zkts client over TLS; what it writes is read on the plain port, in the same session', async () => {
    const secure = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs) });
    try {
      await secure.create('/tls-a', Buffer.from('over tls'));
      assert.ok(secure.socket instanceof tls.TLSSocket);
      const plain = await connected(server.connectString, { sessionId: secure.sessionId, password: secure.sessionPassword });
      try {
        assert.equal(plain.sessionId, secure.sessionId, 'the session moved to the plain port');
        const { data } = await plain.getData('/tls-a');
        assert.equal(data?.toString(), 'over tls');
      } finally {
        await plain.close();
      }
    } finally {
      await secure.close().catch(() => {});
    }
  });

  test('kazoo with use_ssl=True, ca, certfile and keyfile', async () => {
    const got = await runKazoo<{ data: string }>(
      `
      zk = connect(use_ssl=True, ca=os.environ['CA'], certfile=os.environ['CERT'], keyfile=os.environ['KEY'])
      zk.create('/tls-kazoo', b'from kazoo')
      data, _ = zk.get('/tls-kazoo')
      zk.stop()
      result({'data': data.decode()})
      `,
      { hosts: `127.0.0.1:${securePort}`, env: { CA: certs.caPem, CERT: certs.clientCert, KEY: certs.clientKey }, timeoutMs: 30_000 },
    );
    assert.equal(got.data, 'from kazoo');
  });

  test('zkCli.sh over Netty (ClientCnxnSocketNetty) with PKCS12 trust and key stores', async () => {
    const c = await zkcliTls(`127.0.0.1:${securePort}`, ['create', '/tls-zkcli', 'from java'], javaTlsFlags(certs));
    assert.equal(c.out, 'Created /tls-zkcli', c.out);
    const g = await zkcliTls(`127.0.0.1:${securePort}`, ['get', '/tls-zkcli'], javaTlsFlags(certs));
    assert.equal(g.out, 'from java', g.out);
  });
});

describe('x509 ACLs: the client certificate is the identity', () => {
  const x509 = (dn: string): { perms: number; id: { scheme: string; id: string } }[] => [{ perms: 31, id: { scheme: 'x509', id: dn } }];

  test('a node with ACL x509:<DN>:cdrwa is that certificate\'s; another gets NoAuth', async () => {
    const owner = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs, 'client') });
    const other = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs, 'other') });
    try {
      await owner.create('/x509-node', Buffer.from('mine'), { acl: x509(certs.clientDn) });
      assert.equal((await owner.getData('/x509-node')).data?.toString(), 'mine');
      await owner.setData('/x509-node', Buffer.from('still mine'));
      await assert.rejects(other.getData('/x509-node'), (e: Error & { code?: unknown }) => /NoAuth|not authenticated/i.test(`${e.message} ${String(e.code)}`));
      await assert.rejects(other.setData('/x509-node', Buffer.from('x')), /NoAuth|not authenticated/i);
      // Apache ZooKeeper 3.8.4's answer for the same certificate, in its order.
      assert.deepEqual(await owner.whoAmI(), [
        { authScheme: 'x509', user: certs.clientDn },
        { authScheme: 'ip', user: '127.0.0.1' },
      ]);
    } finally {
      await owner.close();
      await other.close();
    }
  });

  test('the identity is set again on a reconnect over TLS; watch events on the node reach its holder', async () => {
    const creator = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs, 'client') });
    await creator.create('/x509-watched', Buffer.from('0'), { acl: x509(certs.clientDn) });
    await creator.close();
    const first = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs, 'client') });
    const again = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs, 'client'), sessionId: first.sessionId, password: first.sessionPassword });
    try {
      const fired = new Promise<string>((resolve) => void again.getData('/x509-watched', (e) => resolve(String(e.type))));
      await again.setData('/x509-watched', Buffer.from('1'));
      assert.ok((await fired) !== '', 'the data watch fired for the x509 reader');
    } finally {
      await again.close();
      await first.close().catch(() => {});
    }
  });

  test('X509AuthenticationProvider.superUser passes every ACL', async () => {
    const admin = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs, 'admin') });
    try {
      await admin.getData('/x509-node');
      await admin.setData('/x509-node', Buffer.from('by admin'));
    } finally {
      await admin.close();
    }
  });

  test('kazoo: an x509 ACL set with make_acl refuses another certificate (NoAuthError)', async () => {
    const got = await runKazoo<{ mine: string; other: string | null }>(
      `
      mine = connect(use_ssl=True, ca=os.environ['CA'], certfile=os.environ['CERT'], keyfile=os.environ['KEY'])
      mine.create('/x509-kazoo', b'k', acl=[make_acl('x509', os.environ['DN'], all=True)])
      data, _ = mine.get('/x509-kazoo')
      other = connect(use_ssl=True, ca=os.environ['CA'], certfile=os.environ['OCERT'], keyfile=os.environ['OKEY'])
      result({'mine': data.decode(), 'other': err(other.get, '/x509-kazoo')})
      mine.stop(); other.stop()
      `,
      { hosts: `127.0.0.1:${securePort}`, env: { CA: certs.caPem, CERT: certs.clientCert, KEY: certs.clientKey, OCERT: certs.otherCert, OKEY: certs.otherKey, DN: certs.clientDn }, timeoutMs: 30_000 },
    );
    assert.deepEqual(got, { mine: 'k', other: 'NoAuthError' });
  });
});

describe('bad input on the TLS port closes that connection only, counted and logged', () => {
  let bystander: ZkClient;
  before(async () => {
    bystander = await connected(`127.0.0.1:${securePort}`, { tls: tlsOptions(certs) });
    await bystander.create('/tls-bystander', Buffer.from('still here'));
  });
  after(async () => {
    await bystander?.close().catch(() => {});
  });

  /** The failed count goes up by one; the bystander session still works. */
  async function refused(what: string, act: () => Promise<void>): Promise<void> {
    const before = await mntr('zk_unsuccessful_handshake');
    await act();
    await eventually(`${what}: zk_unsuccessful_handshake > ${before}`, async () => (await mntr('zk_unsuccessful_handshake')) > before);
    const { data } = await bystander.getData('/tls-bystander');
    assert.equal(data?.toString(), 'still here');
  }

  test('a plaintext ConnectRequest', async () => {
    await refused('plaintext ConnectRequest', async () => {
      const s = net.connect({ host: '127.0.0.1', port: securePort });
      s.write(connectRequestFrame());
      await closed(s, 20_000);
    });
    assert.match(server.logs(), /Unsuccessful TLS handshake from \/127\.0\.0\.1:\d+/);
  });

  test('a plaintext four-letter word', async () => {
    await refused('plaintext ruok', async () => {
      const s = net.connect({ host: '127.0.0.1', port: securePort });
      s.write('ruok');
      s.end();
      await closed(s, 30_000);
    });
  });

  for (const who of ['expired', 'untrusted', null] as const) {
    test(`a client certificate: ${who ?? 'none (clientAuth=need)'}`, async () => {
      await refused(`${who} certificate`, async () => {
        const s = tls.connect({ host: '127.0.0.1', port: securePort, ...tlsOptions(certs, who) });
        await closed(s, 20_000);
      });
    });
  }

  test('a handshake that never finishes closes after clientTlsHandshakeTimeoutMs', async () => {
    await refused('silent client', async () => {
      const s = net.connect({ host: '127.0.0.1', port: securePort });
      await closed(s, 40_000);
    });
  });
});

describe('secureClientPort alone (PEM key store, clientAuth=none)', () => {
  let alone: ServerHandle;
  before(async () => {
    const caOnly: ClientTlsOptions = { ca: fs.readFileSync(certs.caPem) };
    alone = await startServer('zkts', {
      port: suitePort(base, 1),
      without: ['clientPort'],
      extra: { secureClientPort: String(alonePort), 'ssl.keyStore.location': certs.serverPem, 'ssl.clientAuth': 'none' },
      readyCheck: async () => {
        const c = createClient(`127.0.0.1:${alonePort}`, { tls: caOnly, sessionTimeoutMs: 4000 });
        try {
          await c.waitConnected(2000);
          return true;
        } finally {
          await c.close().catch(() => {});
        }
      },
    });
  });
  after(async () => {
    await alone?.stop();
  });

  test('TLS without a client certificate; no plain port', async () => {
    const c = await connected(`127.0.0.1:${alonePort}`, { tls: tlsOptions(certs, null) });
    try {
      await c.create('/alone', Buffer.from('x'));
      assert.equal((await c.getData('/alone')).data?.toString(), 'x');
    } finally {
      await c.close();
    }
    const s = net.connect({ host: '127.0.0.1', port: suitePort(base, 1) });
    const err = await new Promise<Error | null>((resolve) => {
      s.once('error', resolve);
      s.once('connect', () => resolve(null));
    });
    s.destroy();
    assert.equal((err as NodeJS.ErrnoException | null)?.code, 'ECONNREFUSED');
  });
});

describe('client.certReload: the key store is read again when its file changes', () => {
  let reloading: ServerHandle;
  let keyStore: string;
  const port = suitePort(base, 2) + 3;
  /** Whether a TLS handshake with only `ca` trusted succeeds. */
  const handshake = (ca: string): Promise<boolean> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(ca) });
      s.once('secureConnect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  before(async () => {
    keyStore = `${certs.dir}/reloaded.pem`;
    fs.copyFileSync(certs.serverPem, keyStore);
    reloading = await startServer('zkts', {
      port: suitePort(base, 2),
      extra: { secureClientPort: String(port), 'ssl.keyStore.location': keyStore, 'ssl.clientAuth': 'none', 'client.certReload': 'true', logLevel: 'info' },
    });
  });
  after(async () => {
    await reloading?.stop();
  });

  test('a replaced key store is served without a restart; an unusable one is refused and the last good one kept', async () => {
    assert.equal(await handshake(certs.caPem), true);
    assert.equal(await handshake(certs.roguePem), false);
    // Replaced the way deployment tools do it: a new file renamed over the old one.
    fs.copyFileSync(certs.server2Pem, `${keyStore}.new`);
    fs.renameSync(`${keyStore}.new`, keyStore);
    await eventually('the new certificate is served', () => handshake(certs.roguePem));
    assert.equal(await handshake(certs.caPem), false);
    fs.writeFileSync(keyStore, 'not a key store');
    await eventually('the unusable store is refused', async () => /reloaded stores refused/.test(reloading.logs()));
    assert.equal(await handshake(certs.roguePem), true, 'the last good store stays');
  });
});

for (const [kind, index] of [
  ['keytool -importcert', 8],
  ['openssl pkcs12 -export -nokeys', 9],
] as const) {
  describe(`a PKCS12 trust store (${kind}) with clientAuth=need`, () => {
    let trusting: ServerHandle;
    const plain = suitePort(base, index);
    const port = plain + 3;
    before(async () => {
      let trustStore = certs.caP12; // harness/certs.ts: keytool -importcert -storetype PKCS12
      if (index === 9) {
        trustStore = `${certs.dir}/ca-nokeys.p12`;
        const args = ['pkcs12', '-export', '-nokeys', '-in', certs.caPem, '-out', trustStore, '-passout', `pass:${STORE_PASSWORD}`];
        execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      }
      trusting = await startServer('zkts', {
        port: plain,
        extra: {
          secureClientPort: String(port),
          'ssl.keyStore.location': certs.serverPem,
          'ssl.trustStore.location': trustStore,
          'ssl.trustStore.password': STORE_PASSWORD,
          'ssl.trustStore.type': 'PKCS12',
          'ssl.clientAuth': 'need',
        },
      });
    });
    after(async () => {
      await trusting?.stop();
    });

    test("the zkts client's certificate signed by its CA is accepted; an untrusted one is refused", async () => {
      const c = await connected(`127.0.0.1:${port}`, { tls: tlsOptions(certs) });
      try {
        await c.create(`/p12-trust-${index}`, Buffer.from('trusted'));
        assert.equal((await c.getData(`/p12-trust-${index}`)).data?.toString(), 'trusted');
      } finally {
        await c.close();
      }
      const failed = async (): Promise<number> => {
        const line = (await fourLetter(plain, 'mntr')).split('\n').find((l) => l.startsWith('zk_unsuccessful_handshake\t'));
        return Number(line?.split('\t')[1]);
      };
      const before = await failed();
      const s = tls.connect({ host: '127.0.0.1', port, ...tlsOptions(certs, 'untrusted') });
      await closed(s, 20_000);
      await eventually('the untrusted certificate is counted as a failed handshake', async () => (await failed()) > before);
    });
  });
}

describe('an ensemble of 3 voters and an observer, each with secureClientPort', () => {
  const ensemble: ServerHandle[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const s of ensemble) await s.stop().catch(() => {});
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('x509 ACLs hold on every member: writes forwarded to the leader carry the certificate id', { timeout: 180_000 }, async () => {
    const ports = [3, 4, 5, 6].map((i) => suitePort(base, i));
    const shared: Record<string, string> = {
      'ssl.keyStore.location': certs.serverPem,
      'ssl.trustStore.location': certs.caPem,
    };
    ports.forEach((p, i) => (shared[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i === 3 ? ':observer' : ''}`));
    for (let i = 0; i < 4; i++) {
      const dataDir = fs.mkdtempSync(`${os.tmpdir()}/zkts-tls-ensemble-`);
      dirs.push(dataDir);
      fs.writeFileSync(`${dataDir}/myid`, `${i + 1}\n`);
      const own = { ...shared, secureClientPort: String(ports[i]! + 3), ...(i === 3 ? { peerType: 'observer' } : {}) };
      ensemble.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 300, extra: own }));
    }
    await leaderOf(ensemble.slice(0, 3));
    const at = (i: number, who: 'client' | 'other'): Promise<ZkClient> => connected(`127.0.0.1:${ports[i]! + 3}`, { tls: tlsOptions(certs, who) });
    const observer = await at(3, 'client');
    try {
      await observer.create('/x509-ensemble', Buffer.from('a'), { acl: [{ perms: 31, id: { scheme: 'x509', id: certs.clientDn } }] });
      await observer.setData('/x509-ensemble', Buffer.from('b'));
      for (const i of [0, 1, 2]) {
        const mine = await at(i, 'client');
        const theirs = await at(i, 'other');
        try {
          await mine.sync('/x509-ensemble');
          assert.equal((await mine.getData('/x509-ensemble')).data?.toString(), 'b', `member ${i + 1}`);
          await assert.rejects(theirs.getData('/x509-ensemble'), /NoAuth|not authenticated/i);
          await assert.rejects(theirs.setData('/x509-ensemble', Buffer.from('c')), /NoAuth|not authenticated/i);
        } finally {
          await mine.close();
          await theirs.close();
        }
      }
    } finally {
      await observer.close();
    }
  });
});
