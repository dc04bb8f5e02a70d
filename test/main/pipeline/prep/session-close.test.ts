// Issue 9 item 2: closing a session cannot crash-loop. A session's closeSession txn lists every
// ephemeral it owns, so what one session may own is bounded by jute.maxbuffer (an ephemeral
// create past it gets QuotaExceeded); a session that got past the bound before it held (a data
// dir from ZooKeeper, or from a larger jute.maxbuffer) is closed with an empty list, which every
// member and a replay apply alike. Both kinds of closeSession reach the log, are read back by
// recovery, and leave the same tree as applying them did.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, Err, OpCode } from '../../../../src/common/zk.js';
import type { ClientRequest, Txn } from '../../../../src/protocol/types.js';
import { openAclUnsafe } from '../../../../src/common/acl.js';
import { ZkDatabase } from '../../../../src/main/pipeline/database.js';
import { closeSessionTxnBytesCeiling, txnHeaderBytes } from '../../../../src/main/pipeline/limits.js';
import { recover } from '../../../../src/main/storage/recovery.js';
import { SyncStage } from '../../../../src/main/storage/sync-stage.js';
import { listEntryBytes } from '../../../../src/main/tree/data-tree.js';
import { ctxOf, MiniPipeline, mulberry32, removeDir, tempDir } from '../../storage/harness/helpers.js';

const session = 0x5000n;
const other = 0x6000n;

function ephemeral(path: string, flags: number = CreateMode.ephemeral): ClientRequest {
  return { op: OpCode.create, req: { path, data: null, acl: [...openAclUnsafe], flags } };
}
const closeSession: ClientRequest = { op: OpCode.closeSession, req: null };

function db(juteMaxBufferBytes: number, omitted: bigint[] = []): ZkDatabase {
  return new ZkDatabase({
    extendedTypesEnabled: true,
    juteMaxBufferBytes,
    onCloseListOmitted: (id) => void omitted.push(id),
  });
}

let clock = 1_700_000_000_000;
/** Prepares and applies at once; returns the error code of the prepared txn (0: a real txn). */
function write(d: ZkDatabase, s: bigint, r: ClientRequest): { err: number; txn: Txn } {
  const p = d.prepare(ctxOf(s), r, ++clock);
  d.apply(p);
  return { err: p.txn.type === -1 ? p.txn.err : 0, txn: p.txn };
}

/** What a closeSession txn listing `paths` takes: TxnHeader + count + the paths. */
function closeBytes(paths: string[]): number {
  return txnHeaderBytes + 4 + paths.reduce((n, p) => n + listEntryBytes(p), 0);
}

/** A path of exactly `n` UTF-8 bytes under "/". */
function pathOf(name: string, n: number): string {
  return `/${name}${'x'.repeat(n - 1 - name.length)}`;
}

describe('what one session may own is bounded by its closeSession txn', () => {
  it('an ephemeral create that would overflow the closeSession txn gets QuotaExceeded, exactly at the bound', () => {
    const max = 4096;
    const d = db(max);
    const a = pathOf('a', 2000);
    assert.equal(write(d, session, ephemeral(a)).err, 0);
    assert.equal(d.tree.ephemeralListBytesOf(session), listEntryBytes(a));
    // Fill to exactly the bound: allowed. One byte more: refused.
    const room = max - closeBytes([a]) - 4;
    const over = pathOf('b', room + 1);
    assert.equal(write(d, session, ephemeral(over)).err, Err.quotaExceeded);
    assert.equal(d.tree.getNode(over), undefined);
    const fits = pathOf('b', room);
    assert.equal(write(d, session, ephemeral(fits)).err, 0);
    assert.equal(closeBytes([a, fits]), max);
    assert.equal(write(d, session, ephemeral('/c')).err, Err.quotaExceeded);
    // Persistent nodes and other sessions are not counted against it.
    assert.equal(write(d, session, ephemeral('/p', CreateMode.persistent)).err, 0);
    assert.equal(write(d, other, ephemeral('/c')).err, 0);
    // A delete frees room; the close lists everything and fits.
    assert.equal(write(d, session, { op: OpCode.delete, req: { path: fits, version: -1 } }).err, 0);
    assert.equal(d.tree.ephemeralListBytesOf(session), listEntryBytes(a));
    assert.equal(write(d, session, ephemeral('/c2')).err, 0);
    const closed = write(d, session, closeSession);
    assert.equal(closed.txn.type, -11);
    assert.deepEqual(closed.txn.type === -11 && [...closed.txn.paths2Delete].sort(), [a, '/c2']);
    assert.equal(d.tree.ephemeralListBytesOf(session), 0);
    assert.equal(d.tree.getNode(a), undefined);
  });

  it('counts the sequential suffix, multi ops and creates not yet applied', () => {
    const max = 1024;
    const d = db(max);
    // Pipelined: prepared, not applied. Each create sees the ones before it.
    const pending: ReturnType<ZkDatabase['prepare']>[] = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const p = d.prepare(ctxOf(session), ephemeral(`/s-${'y'.repeat(20)}-`, CreateMode.ephemeralSequential), ++clock);
      if (p.txn.type === -1) {
        assert.equal(p.txn.err, Err.quotaExceeded);
        refused++;
      }
      pending.push(p);
    }
    for (const p of pending) d.apply(p);
    assert.ok(refused > 0, 'the bound was reached while nothing was applied');
    const listed = [...(d.tree.ephemeralsOf(session) ?? [])];
    assert.ok(closeBytes(listed) <= max, `${closeBytes(listed)} bytes listed`);
    assert.ok(closeBytes([...listed, `/s-${'y'.repeat(20)}-0000000099`]) > max, 'filled up to the bound');
    // A multi whose ephemeral create does not fit fails whole (the op gets QuotaExceeded).
    const m = d.prepare(
      ctxOf(session),
      {
        op: OpCode.multi,
        req: [
          { op: OpCode.create, req: { path: '/m1', data: null, acl: [...openAclUnsafe], flags: 0 } },
          { op: OpCode.create, req: { path: '/m2', data: null, acl: [...openAclUnsafe], flags: CreateMode.ephemeral } },
        ],
      },
      ++clock,
    );
    d.apply(m);
    assert.equal(m.txn.type, 14);
    assert.deepEqual(
      m.txn.type === 14 && m.txn.txns.map((t) => (t.type === -1 ? t.err : 0)),
      [Err.ok, Err.quotaExceeded],
    );
    assert.equal(d.tree.getNode('/m1'), undefined);
    // A delete prepared but not applied already frees its room for the next create.
    const first = listed[0] as string;
    const del = d.prepare(ctxOf(session), { op: OpCode.delete, req: { path: first, version: -1 } }, ++clock);
    const again = d.prepare(ctxOf(session), ephemeral('/z'), ++clock);
    assert.equal(again.txn.type, 1);
    d.apply(del);
    d.apply(again);
  });

  it('the running figure is what closeSession would list, through pipelined writes, multis, rollbacks and closes (seeded)', () => {
    const random = mulberry32(20261207);
    const d = db(1 << 20);
    const sessions = [0x11n, 0x22n, 0x33n];
    const names = Array.from({ length: 12 }, (_, i) => `/k${i}${'z'.repeat(i * 7)}`);
    const pending: ReturnType<ZkDatabase['prepare']>[] = [];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const op = (): ClientRequest => {
      const r = random();
      const path = pick(names);
      if (r < 0.4) return ephemeral(path, random() < 0.8 ? CreateMode.ephemeral : CreateMode.persistent);
      if (r < 0.7) return { op: OpCode.delete, req: { path, version: -1 } };
      if (r < 0.8) return { op: OpCode.setData, req: { path, data: null, version: -1 } };
      if (r < 0.93) {
        return {
          op: OpCode.multi,
          req: [
            { op: OpCode.create, req: { path: pick(names), data: null, acl: [...openAclUnsafe], flags: CreateMode.ephemeral } },
            random() < 0.5
              ? { op: OpCode.delete, req: { path: pick(names), version: -1 } }
              : { op: OpCode.create, req: { path: pick(names), data: null, acl: [...openAclUnsafe], flags: CreateMode.ephemeral } },
          ],
        };
      }
      return closeSession;
    };
    for (let step = 0; step < 3000; step++) {
      pending.push(d.prepare(ctxOf(pick(sessions)), op(), ++clock));
      // Apply a random part of what is pending (the log lags behind prep).
      while (pending.length > 0 && random() < 0.45) d.apply(pending.shift() as ReturnType<ZkDatabase['prepare']>);
      for (const s of sessions) {
        const running = d.tree.ephemeralListBytesOf(s) + d.outstanding.listBytesPending(s);
        assert.equal(running, listedNow(d, s), `step ${step}, session ${s}`);
      }
    }
  });

  it('jute.maxbuffer above the ceiling is held to the ceiling', () => {
    const d = db(2 ** 30);
    // Not built for real (32 MiB of paths): the bound is checked through one huge path.
    const huge = pathOf('h', closeSessionTxnBytesCeiling);
    assert.equal(write(d, session, ephemeral(huge)).err, Err.quotaExceeded);
  });
});

describe('a session already past the bound is closed without the list', () => {
  it('the closeSession txn is empty, deletes every ephemeral, and is reported', () => {
    // Created where the bound did not hold (recovery applies txns, it never prepares them).
    const paths: string[] = [];
    for (let i = 0; i < 50; i++) paths.push(pathOf(`e${i}-`, 200));
    const omitted: bigint[] = [];
    const d = db(4096, omitted);
    for (const txn of loggedCreates(paths)) d.apply(txn);
    assert.equal(d.tree.ephemeralsOf(session)?.size, 50);
    const close = d.prepare(ctxOf(session), closeSession, ++clock);
    assert.equal(close.txn.type, -11);
    assert.deepEqual(close.txn.type === -11 && close.txn.paths2Delete, []);
    assert.deepEqual(omitted, [session]);
    d.apply(close);
    for (const path of paths) assert.equal(d.tree.getNode(path), undefined, path);
    assert.equal(d.tree.ephemeralsOf(session), undefined);
    assert.equal(d.tree.ephemeralListBytesOf(session), 0);
    assert.equal(d.tree.getNode('/')?.pzxid, close.hdr.zxid);
  });

  it('reaches the log, is read back by recovery, and replays to the same tree', async () => {
    const dir = tempDir('zkts-close-');
    try {
      const omitted: bigint[] = [];
      const paths: string[] = [];
      for (let i = 0; i < 30; i++) paths.push(pathOf(`q${i}-`, 300));
      // First life: a big bound lets the session own 30 paths of 300 bytes.
      {
        const d = new ZkDatabase({ extendedTypesEnabled: true, juteMaxBufferBytes: 1 << 20 });
        recover(d, { dataDir: dir, dataLogDir: dir });
        const stage = stageOn(dir, d);
        const pipe = new MiniPipeline(d, stage);
        await pipe.write(session, [{ op: OpCode.createSession, req: null, timeOut: 30_000 }]);
        await pipe.write(other, [{ op: OpCode.createSession, req: null, timeOut: 30_000 }]);
        for (const p of paths) await pipe.write(session, [ephemeral(p)]);
        await pipe.write(other, [ephemeral('/o')]);
        await stage.close();
      }
      // Second life: recovery rebuilds the session; the bound is now 4 KiB, so its close goes
      // without the list; the other session's close has its list.
      let digest: bigint;
      let lastZxid: number;
      {
        const d = new ZkDatabase({
          extendedTypesEnabled: true,
          juteMaxBufferBytes: 4096,
          onCloseListOmitted: (id) => void omitted.push(id),
        });
        const r = recover(d, { dataDir: dir, dataLogDir: dir });
        assert.equal(d.tree.ephemeralsOf(session)?.size, 30);
        assert.equal(d.tree.ephemeralListBytesOf(session), paths.reduce((n, p) => n + listEntryBytes(p), 0));
        const stage = stageOn(dir, d, r.lastZxid, r.sessions);
        const pipe = new MiniPipeline(d, stage);
        await pipe.write(session, [closeSession]);
        await pipe.write(other, [closeSession]);
        await stage.close();
        assert.deepEqual(omitted, [session]);
        assert.equal(d.tree.ephemeralsOf(session), undefined);
        assert.equal(d.tree.getNode('/o'), undefined);
        digest = d.tree.treeDigest();
        lastZxid = d.lastZxid;
      }
      // Third life: the replay of both closes gives the same tree.
      {
        const d = new ZkDatabase({ extendedTypesEnabled: true });
        const r = recover(d, { dataDir: dir, dataLogDir: dir });
        assert.equal(r.lastZxid, lastZxid);
        assert.equal(r.sessions.has(session), false);
        assert.equal(d.tree.treeDigest(), digest);
        for (const p of paths) assert.equal(d.tree.getNode(p), undefined);
      }
    } finally {
      removeDir(dir);
    }
  });
});

/** The bytes of the list prepCloseSession would build now: the tree's ephemerals of the session,
 *  changed by the outstanding records in order. */
function listedNow(d: ZkDatabase, s: bigint): number {
  const paths = new Set(d.tree.ephemeralsOf(s) ?? []);
  for (const r of d.outstanding.records()) {
    if (!r.exists) paths.delete(r.path);
    else if (r.ephemeralOwner === s) paths.add(r.path);
  }
  let n = 0;
  for (const p of paths) n += listEntryBytes(p);
  return n;
}

/** The create txns a ZooKeeper would have logged for `paths` (recovery applies, never prepares). */
function loggedCreates(paths: string[]): ReturnType<ZkDatabase['prepare']>[] {
  return paths.map((path, i) => ({
    hdr: { clientId: session, cxid: i + 1, zxid: i + 1, time: ++clock, type: OpCode.create },
    txn: { type: 1, path, data: null, acl: [...openAclUnsafe], ephemeral: true, parentCVersion: i + 1 },
  }));
}

function stageOn(dir: string, d: ZkDatabase, lastZxid = 0, sessions = new Map<bigint, number>()): SyncStage {
  return new SyncStage({
    dataDir: dir,
    dataLogDir: dir,
    db: d,
    sessions,
    lastZxid,
    onFatal: (e) => {
      throw e;
    },
    snapCount: 1_000_000,
    random: mulberry32(1),
    preAllocBytes: 1 << 16,
  });
}
