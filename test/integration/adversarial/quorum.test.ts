// Hostile quorum peers (issue 9, item 12) against real ensembles on loopback, ports 23100-23199
// (SUITE_PORTS.advQuorum): a process that is not a member connects to the quorum and election
// ports and sends garbage, an oversized frame before any handshake, a forged Hello that claims a
// member's id, and a REQUEST with the `super` auth id that would write under an ACL nobody may
// write. The ensemble keeps serving a stock client, and the forged write is never applied.
//   (a) with a quorum secret (quorum.secret): the forged Hello fails the challenge;
//   (b) without one (unauthenticated, as ZooKeeper by default): the Hello with a member's id is
//       taken, but its REQUEST is refused (not a synced learner); once the process has synced as
//       that member it sends an ACK beyond the log, which closes its link, not the leader;
//   (c) a hostile leader: a lone member whose two peers the hostile process plays (one LEADING,
//       one FOLLOWING) follows it, and gets a PROPOSAL whose payload is not a txn, then (after
//       a new election) a COMMIT of a zxid it never logged: each closes that link, and the
//       member keeps running and answering;
//   (d) quorum TLS (sslQuorum with PEM key stores made by openssl): the ensemble runs over TLS,
//       and a plain-TCP forged Hello + super REQUEST is refused at the TLS handshake.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../../src/client/index.js';
import { Err } from '../../../src/common/zk.js';
import { type DecodedFrame, decodeFrame, encodeHelloFrame, encodeMessageFrame, type QuorumMsg } from '../../../src/main/net/codec.js';
import { FrameReader } from '../../../src/protocol/frame-reader.js';
import { zxidOf } from '../../../src/common/ids.js';
import { JuteWriter, encodeTxn, encodeTxnHeader } from '../../../src/protocol/jute/index.js';
import { createBody, Op } from '../harness/raw.js';
import { eventually, leaderOf, memberMode } from '../harness/ensemble.js';
import { fourLetter, startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, suitePort } from '../harness/target.js';

const base = SUITE_PORTS.advQuorum;
const secret = 'adversarial-quorum-test-secret-0001';
const empty = new Uint8Array(0);

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];
const sockets: net.Socket[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A raw quorum connection: whatever bytes we like out, decoded frames in. */
class Hostile {
  readonly frames: DecodedFrame[] = [];
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader(256 * 1024 * 1024);
  private wake: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    sockets.push(socket);
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk, (body) => {
        try {
          this.frames.push(decodeFrame(body));
        } catch {
          // not ours to judge
        }
        return true;
      });
      this.wake?.();
    });
    socket.on('close', () => this.wake?.());
  }

  static async connect(port: number): Promise<Hostile> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new Hostile(socket);
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The first frame received (now or later) that `match` accepts; rejects on close or timeout. */
  async next<T>(what: string, match: (f: DecodedFrame) => T | undefined, ms = 20_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const f of this.frames) {
        const v = match(f);
        if (v !== undefined) return v;
      }
      if (this.socket.destroyed) throw new Error(`connection closed while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  /** Resolves true once the server has closed the connection, false after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }
}

type MsgOf<T extends QuorumMsg['type']> = QuorumMsg & { readonly type: T };

function msgOf<T extends QuorumMsg['type']>(type: T) {
  return (f: DecodedFrame): MsgOf<T> | undefined =>
    (f.kind === 'message' || f.kind === 'forward') && f.msg.type === type ? (f.msg as MsgOf<T>) : undefined;
}

function hello(sender: number, receiver: number): Buffer {
  return encodeHelloFrame({ cluster: 'zkts', sender, receiver, nonce: empty, mac: empty });
}

/** A forwarded create of `path` under the session of `c`, with the super auth id. */
function forgedCreate(session: bigint, path: string): Buffer {
  return encodeMessageFrame({
    type: 'REQUEST',
    session: BigInt.asUintN(64, session),
    cxid: 77,
    op: Op.create,
    body: createBody(path, Buffer.from('forged')),
    authIds: [{ scheme: 'super', id: 'super' }],
    timeoutMs: 30_000,
    local: false,
  });
}

interface Member {
  readonly id: number;
  readonly port: number;
  readonly quorumPort: number;
  readonly electionPort: number;
}

function members(first: number): Member[] {
  return [0, 1, 2].map((k) => {
    const port = suitePort(base, first + k);
    return { id: k + 1, port, quorumPort: port + 1, electionPort: port + 2 };
  });
}

async function startMember(m: Member, all: Member[], extra: Record<string, string>): Promise<ServerHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zkts-adv-quorum-'));
  dirs.push(dataDir);
  writeFileSync(join(dataDir, 'myid'), `${m.id}\n`);
  const cfg: Record<string, string> = { logLevel: 'info', ...extra };
  for (const o of all) cfg[`server.${o.id}`] = `127.0.0.1:${o.quorumPort}:${o.electionPort}`;
  const s = await startServer('zkts', { port: m.port, dataDir, tickTime: 200, extra: cfg });
  servers.push(s);
  return s;
}

async function connect(cs: string): Promise<ZkClient> {
  const c = createClient(cs, { sessionTimeoutMs: 10_000 });
  clients.push(c);
  await c.waitConnected(15_000);
  return c;
}

/** A node only the server may write under: world may only read it. */
async function lockedNode(c: ZkClient, path: string): Promise<void> {
  await c.create(path, Buffer.from('locked'), { acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }] });
  await assert.rejects(c.create(`${path}/mine`, Buffer.from('x')), (e: { code?: number }) => e.code === Err.noAuth);
}

/** The forged write never shows, after a later write of the stock client is visible. */
async function notApplied(c: ZkClient, path: string, marker: string): Promise<void> {
  await c.create(marker, Buffer.from('after'));
  await c.sync('/');
  assert.equal(await c.exists(path), null, `${path} (the forged write) was applied`);
}

function idOf(s: ServerHandle, all: Member[]): number {
  return all.find((m) => m.port === s.port)!.id;
}

describe('adversarial: quorum peers', () => {
  test('with quorum.secret: garbage, an oversized pre-auth frame and a forged Hello + super REQUEST are refused', async () => {
    const all = members(0);
    const extra = { 'quorum.secret': secret };
    // Members 1 and 2 first: the leader is one of them, so a member id above it (3) exists to
    // claim (a Hello from a smaller id is only a nudge).
    const s1 = await startMember(all[0]!, all, extra);
    const s2 = await startMember(all[1]!, all, extra);
    const leader = await leaderOf([s1, s2]);
    const leaderId = idOf(leader, all);
    const s3 = await startMember(all[2]!, all, extra);
    await eventually('member 3 follows', async () => ((await memberMode(s3.port)) === 'follower' ? true : undefined));
    const leaderPort = all[leaderId - 1]!.quorumPort;
    const c = await connect(leader.connectString);
    await lockedNode(c, '/locked');

    // Garbage on every quorum and election port (nothing listens on an election port: zkts
    // elects over the quorum connection).
    for (const m of all) {
      for (const port of [m.quorumPort, m.electionPort]) {
        let h: Hostile;
        try {
          h = await Hostile.connect(port);
        } catch {
          continue; // refused
        }
        h.send(Buffer.from('\x00\x00\x00\x10GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.alloc(300, 0xa5));
        assert.ok(await h.closedWithin(20_000), `garbage on port ${port} closed`);
      }
    }

    // A frame header of 32 MiB before any Hello: refused from its header alone.
    const big = await Hostile.connect(leaderPort);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(32 * 1024 * 1024);
    big.send(header, Buffer.alloc(1024, 1));
    await eventually('the oversized pre-auth frame refused', async () => (/frame of 33554432 bytes over frameBytesMax 1024\b/.test(leader.logs()) ? true : undefined));
    assert.ok(await big.closedWithin(20_000));

    // A forged Hello claiming member 3, with a REQUEST that creates under /locked as super.
    const forged = await Hostile.connect(leaderPort);
    forged.send(hello(3, leaderId), forgedCreate(c.sessionId, '/locked/forged'));
    await eventually('the forged Hello refused', async () => (leader.logs().includes('Hello without a challenge') ? true : undefined));
    assert.ok(await forged.closedWithin(20_000), 'the forged connection closed');
    await notApplied(c, '/locked/forged', '/after-a');

    // The ensemble serves: every member alive, a follower sees the write.
    for (const s of [s1, s2, s3]) assert.equal(s.exited, false, `server ${s.port} exited`);
    const follower = [s1, s2, s3].find((s) => s !== leader)!;
    const fc = await connect(follower.connectString);
    await eventually('the write on a follower', async () => ((await fc.exists('/after-a')) !== null ? true : undefined));
    assert.equal(await fc.exists('/locked/forged'), null);
    // (d) reuses these ports.
    for (const s of [s1, s2, s3]) await s.stop();
  });

  test('without a secret: a forged REQUEST is refused until synced, and an ACK beyond the log closes only that link', async () => {
    const all = members(3);
    // Members 1 and 2 run; server.3 is configured but down, and the hostile process claims it.
    const s1 = await startMember(all[0]!, all, {});
    const s2 = await startMember(all[1]!, all, {});
    const leader = await leaderOf([s1, s2]);
    const leaderId = idOf(leader, all);
    assert.ok(leader.logs().includes('the quorum is unauthenticated'), 'the start-up log says the quorum is unauthenticated');
    const c = await connect(leader.connectString);
    await lockedNode(c, '/locked');

    const h = await Hostile.connect(all[leaderId - 1]!.quorumPort);
    h.send(hello(3, leaderId), forgedCreate(c.sessionId, '/locked/forged'));
    await h.next('the Hello reply', (f) => (f.kind === 'hello' ? true : undefined));
    const refusal = await h.next('REQUESTERROR', msgOf('REQUESTERROR'));
    assert.equal(refusal.err, Err.connectionLoss);
    await notApplied(c, '/locked/forged', '/after-b');

    // Now sync with the leader as member 3 would, then ACK a zxid it never proposed.
    h.send(encodeMessageFrame({ type: 'FOLLOWERINFO', acceptedEpoch: 0, session: 1 }));
    const info = await h.next('LEADERINFO', msgOf('LEADERINFO'));
    h.send(encodeMessageFrame({ type: 'ACKEPOCH', session: 1, currentEpoch: 0, lastZxid: 0, snapshotZxid: 0, segments: [] }));
    const newLeader = await h.next('NEWLEADER', msgOf('NEWLEADER'));
    assert.equal(newLeader.epoch, info.epoch);
    h.send(encodeMessageFrame({ type: 'ACKNEWLEADER', epoch: newLeader.epoch }));
    await h.next('UPTODATE', msgOf('UPTODATE'));
    h.send(encodeMessageFrame({ type: 'ACK', zxid: newLeader.zxid + 1_000_000 }));
    await eventually('the impossible ACK refused', async () => (leader.logs().includes('ACK beyond our log') ? true : undefined));
    assert.ok(await h.closedWithin(20_000), 'the hostile link closed');

    assert.equal(leader.exited, false, 'the leader survived');
    await c.create('/after-ack', Buffer.from('ok'));
    const other = leader === s1 ? s2 : s1;
    const fc = await connect(other.connectString);
    await eventually('the write on the follower', async () => ((await fc.exists('/after-ack')) !== null ? true : undefined));
    assert.equal(await fc.exists('/locked/forged'), null);
  });

  test('a hostile leader: a PROPOSAL that is not a txn and a COMMIT beyond the log close its link, not the member', async () => {
    const all = members(6);
    const s1 = await startMember(all[0]!, all, {});
    const q1 = all[0]!.quorumPort;
    // The hostile process dials member 1 as members 2 and 3 (the larger ids dial) and says the
    // election is over: 3 leads, 2 follows.
    const as2 = await Hostile.connect(q1);
    as2.send(hello(2, 1));
    await as2.next('Hello reply to 2', (f) => (f.kind === 'hello' ? true : undefined));

    /** One term of member 1 following "3" through the discovery phase; returns the link. */
    const follow = async (round: number): Promise<{ as3: Hostile; epoch: number }> => {
      const as3 = await Hostile.connect(q1);
      as3.send(hello(3, 1));
      await as3.next(`Hello reply to 3 (round ${round})`, (f) => (f.kind === 'hello' ? true : undefined));
      const vote = { leader: 3, zxid: 0, peerEpoch: 0, electionEpoch: 1 };
      as2.send(encodeMessageFrame({ type: 'NOTIFICATION', ...vote, state: 'FOLLOWING' }));
      as3.send(encodeMessageFrame({ type: 'NOTIFICATION', ...vote, state: 'LEADING' }));
      const info = await as3.next('FOLLOWERINFO', msgOf('FOLLOWERINFO'));
      const epoch = 1;
      as3.send(encodeMessageFrame({ type: 'LEADERINFO', epoch, session: info.session }));
      await as3.next('ACKEPOCH', msgOf('ACKEPOCH'));
      as3.send(encodeMessageFrame({ type: 'DIFF', zxid: 0 }));
      return { as3, epoch };
    };

    // Round 1: a PROPOSAL whose payload is three bytes, not a TxnHeader + Txn.
    const r1 = await follow(1);
    r1.as3.send(encodeMessageFrame({ type: 'PROPOSAL', zxid: zxidOf(r1.epoch, 1), payload: new Uint8Array([1, 2, 3]) }));
    await eventually('the bad payload refused', async () => (s1.logs().includes('PROPOSAL 0x100000001: payload does not decode') ? true : undefined));
    assert.ok(await r1.as3.closedWithin(20_000), 'the link of the hostile leader closed');
    assert.equal(s1.exited, false, 'member 1 survived the bad payload');

    // Round 2: a real txn, synced and up to date, then a COMMIT of a zxid never proposed.
    const r2 = await follow(2);
    const zxid = zxidOf(r2.epoch, 1);
    const w = new JuteWriter(256);
    encodeTxnHeader(w, { clientId: 0n, cxid: 1, zxid, time: Date.now(), type: 1 });
    encodeTxn(w, { type: 1, path: '/hostile', data: new Uint8Array(0), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: 1 });
    r2.as3.send(encodeMessageFrame({ type: 'PROPOSAL', zxid, payload: w.bytes().slice() }), encodeMessageFrame({ type: 'NEWLEADER', epoch: r2.epoch, zxid }));
    await r2.as3.next('ACKNEWLEADER', msgOf('ACKNEWLEADER'));
    r2.as3.send(encodeMessageFrame({ type: 'UPTODATE', commitZxid: 0 }), encodeMessageFrame({ type: 'COMMIT', zxid: zxid + 6 }));
    await eventually('the COMMIT beyond the log refused', async () => (s1.logs().includes('COMMIT of an unknown zxid') ? true : undefined));
    assert.ok(await r2.as3.closedWithin(20_000), 'the link of the hostile leader closed');

    assert.equal(s1.exited, false, 'member 1 survived');
    assert.match(await fourLetter(all[0]!.port, 'srvr'), /Zxid: /);
  });

  test('with sslQuorum: the ensemble runs over TLS, and a plain-TCP forged Hello + super REQUEST is refused', async () => {
    const all = members(0);
    const certs = mkdtempSync(join(tmpdir(), 'zkts-adv-quorum-tls-'));
    dirs.push(certs);
    const openssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=zkts-test-ca');
    writeFileSync(join(certs, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    const extraOf = (id: number): Record<string, string> => {
      openssl('req', ...ec, '-keyout', `m${id}.key`, '-out', `m${id}.csr`, '-subj', '/CN=127.0.0.1');
      openssl('x509', '-req', '-in', `m${id}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `m${id}.crt`, '-days', '2', '-extfile', 'san.ext');
      writeFileSync(join(certs, `m${id}.pem`), Buffer.concat([readFileSync(join(certs, `m${id}.key`)), readFileSync(join(certs, `m${id}.crt`))]));
      return {
        sslQuorum: 'true',
        'ssl.quorum.keyStore.location': join(certs, `m${id}.pem`),
        'ssl.quorum.trustStore.location': join(certs, 'ca.crt'),
      };
    };
    const s1 = await startMember(all[0]!, all, extraOf(1));
    const s2 = await startMember(all[1]!, all, extraOf(2));
    const leader = await leaderOf([s1, s2]);
    const leaderId = idOf(leader, all);
    const s3 = await startMember(all[2]!, all, extraOf(3));
    await eventually('member 3 follows', async () => ((await memberMode(s3.port)) === 'follower' ? true : undefined));
    assert.ok(leader.logs().includes('quorum connections use TLS'));
    const c = await connect(leader.connectString);
    await lockedNode(c, '/locked');

    const forged = await Hostile.connect(all[leaderId - 1]!.quorumPort);
    forged.send(hello(3, leaderId), forgedCreate(c.sessionId, '/locked/forged'));
    await eventually('the plain-TCP connection refused', async () => (leader.logs().includes('quorum TLS handshake refused') ? true : undefined));
    assert.ok(await forged.closedWithin(20_000), 'the forged connection closed');
    await notApplied(c, '/locked/forged', '/after-d');
    const fc = await connect(s3.connectString);
    await eventually('the write on member 3', async () => ((await fc.exists('/after-d')) !== null ? true : undefined));
    for (const s of [s1, s2, s3]) assert.equal(s.exited, false);
  });
});
