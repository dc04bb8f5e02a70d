// Format compatibility with Apache ZooKeeper 3.8, both ways, using the real thing (skipped when
// no Java or no ZooKeeper jar is installed; Debian's package puts it in /usr/share/java):
//   zkts -> ZooKeeper: zkTxnLogToolkit reads every zkts log with no CRC error, SnapshotFormatter
//     reads a zkts snapshot, and a ZooKeeper server started on a zkts data directory recovers
//     to the same last zxid and the same tree digest as zkts's own recovery;
//   ZooKeeper -> zkts: after writes through a ZooKeeper server that is then SIGKILLed, zkts
//     recovers its snapshot and its preallocated log to the zxid and digest ZooKeeper itself
//     recovers to.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createClient, CreateMode } from '../../../src/client/index.js';
import { openAclUnsafe } from '../../../src/common/acl.js';
import { CreateMode as Mode, OpCode } from '../../../src/common/zk.js';
import { ZkDatabase } from '../../../src/main/pipeline/database.js';
import type { StorageError } from '../../../src/main/storage/errors.js';
import { versionDir } from '../../../src/main/storage/layout.js';
import { recover } from '../../../src/main/storage/recovery.js';
import { SyncStage } from '../../../src/main/storage/sync-stage.js';
import {
  MiniPipeline,
  Workload,
  mulberry32,
  newDb,
  removeDir,
  tempDir,
} from './harness/helpers.js';

const java = process.env.ZKTS_APACHE_JAVA ?? '/usr/bin/java';
const jars = [
  'zookeeper.jar',
  'zookeeper-jute.jar',
  'slf4j-api.jar',
  'slf4j-simple.jar',
  'commons-cli.jar',
  'metrics-core.jar',
  'jackson-databind.jar',
  'jackson-core.jar',
  'jackson-annotations.jar',
].map((j) => join('/usr/share/java', j));
const available = existsSync(java) && jars.slice(0, 2).every((j) => existsSync(j));
const classpath = jars.filter((j) => existsSync(j)).join(':');

function runJava(mainClass: string, args: string[]): string {
  const r = spawnSync(java, ['-cp', classpath, mainClass, ...args], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

interface ZkLoad {
  zxid: number;
  digest: bigint;
}

/**
 * Starts ZooKeeperServerMain on `dataDir`, waits for its "Snapshot loaded ... highest zxid is
 * 0x.., digest is N" line, runs `work(port)` if given, then SIGKILLs it.
 */
async function zookeeperOn(
  dataDir: string,
  work?: (port: number) => Promise<void>,
): Promise<ZkLoad> {
  const port = await freePort();
  const child = spawn(
    java,
    [
      '-Xmx256m',
      '-Dzookeeper.admin.enableServer=false',
      '-Dzookeeper.preAllocSize=1024',
      '-cp',
      classpath,
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      String(port),
      dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const loaded = new Promise<ZkLoad>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /highest zxid is 0x([0-9a-f]+), digest is (-?\d+)/.exec(out);
      if (m !== null) resolve({ zxid: parseInt(m[1] ?? '', 16), digest: BigInt(m[2] ?? '0') });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`ZooKeeper exited before loading:\n${out}`)));
  });
  try {
    const load = await loaded;
    if (work !== undefined) {
      while (!/binding to port|Started|bound to port/i.test(out)) await sleep(50);
      await work(port);
    }
    return load;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const noFatal = (e: StorageError): void => assert.fail(`unexpected fatal: ${e.message}`);

const skip = available ? false : 'no java / zookeeper.jar';

describe('ZooKeeper 3.8 file compatibility', { skip }, () => {
  it('zkts files are read by zkTxnLogToolkit, SnapshotFormatter and ZooKeeper', async () => {
    const dir = tempDir('zkts-compat-');
    try {
      const db = newDb();
      const r = recover(db, { dataDir: dir, dataLogDir: dir });
      const stage = new SyncStage({
        dataDir: dir,
        dataLogDir: dir,
        db,
        sessions: r.sessions,
        lastZxid: r.lastZxid,
        onFatal: noFatal,
        snapCount: 200,
        random: mulberry32(4),
        preAllocBytes: 1 << 16,
      });
      const pipeline = new MiniPipeline(db, stage);
      const work = new Workload(mulberry32(8));
      for (let i = 0; i < 300; i++) {
        const b = work.next();
        await pipeline.write(b.session, b.requests);
        while (stage.snapshots.running) await sleep(1);
      }
      await stage.close();
      const files = readdirSync(versionDir(dir));
      let txns = 0;
      for (const log of files.filter((f) => f.startsWith('log.'))) {
        const text = runJava('org.apache.zookeeper.server.persistence.TxnLogToolkit', [
          join(versionDir(dir), log),
        ]);
        assert.doesNotMatch(text, /CRC ERROR|partial|Exception/, text);
        const m = /EOF reached after (\d+) txns\./.exec(text);
        assert.ok(m !== null, text);
        txns += Number(m[1]);
      }
      assert.equal(txns, db.lastZxid);
      const snap = files.filter((f) => f.startsWith('snapshot.')).sort().at(-1) ?? '';
      const formatted = runJava('org.apache.zookeeper.server.SnapshotFormatter', [
        join(versionDir(dir), snap),
      ]);
      assert.match(formatted, /ZNode Details \(count=\d+\)/);
      assert.match(formatted, new RegExp(`Last zxid: 0x${snap.slice(9)}`));
      const zk = await zookeeperOn(dir);
      assert.equal(zk.zxid, db.lastZxid);
      assert.equal(zk.digest, db.tree.treeDigest());
    } finally {
      removeDir(dir);
    }
  });

  it('ZooKeeper files (snapshot, preallocated log, SIGKILL) are recovered by zkts', async () => {
    const dir = tempDir('zkts-compat-');
    try {
      await zookeeperOn(dir, async (port) => {
        const zk = createClient(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
        await zk.waitConnected(10_000);
        await zk.create('/app', 'a');
        await zk.create('/app/b', 'b');
        for (let i = 0; i < 20; i++) {
          await zk.create('/app/s-', `${i}`, { mode: CreateMode.persistentSequential });
        }
        await zk.create('/app/e', 'e', { mode: CreateMode.ephemeral });
        await zk.setData('/app', 'changed');
        await zk.setACL('/app/b', [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]);
        await zk.transaction().create('/app/m', 'm').delete('/app/s-0000000003').commit();
        await zk.delete('/app/s-0000000004');
        await zk.close({ closeSession: false });
      });
      const copy = tempDir('zkts-compat-copy-');
      try {
        cpSync(dir, copy, { recursive: true });
        const db = newDb();
        const r = recover(db, { dataDir: copy, dataLogDir: copy });
        const zk = await zookeeperOn(dir);
        assert.equal(r.lastZxid, zk.zxid);
        assert.equal(db.tree.treeDigest(), zk.digest);
        assert.notEqual(r.digest, 'mismatch'); // snapshot.0 of an empty ZooKeeper has zxid 0
        assert.equal(r.sessions.size, 1);
        assert.ok(db.tree.getNode('/app/e'));
      } finally {
        removeDir(copy);
      }
    } finally {
      removeDir(dir);
    }
  });

  it('a closeSession logged without its list (a session past the bound) is read and replayed by ZooKeeper alike', async () => {
    const dir = tempDir('zkts-compat-');
    try {
      const owner = 0x7000n;
      const paths = Array.from({ length: 20 }, (_, i) => `/e${i}-${'x'.repeat(300)}`);
      const stageOf = (db: ZkDatabase, lastZxid: number, sessions: Map<bigint, number>): SyncStage =>
        new SyncStage({ dataDir: dir, dataLogDir: dir, db, sessions, lastZxid, onFatal: noFatal, snapCount: 1_000_000, random: mulberry32(4), preAllocBytes: 1 << 16 });
      {
        const db = new ZkDatabase({ extendedTypesEnabled: true, juteMaxBufferBytes: 1 << 20 });
        const r = recover(db, { dataDir: dir, dataLogDir: dir });
        const stage = stageOf(db, r.lastZxid, r.sessions);
        await stage.snapshot(); // as the server does at start: ZooKeeper wants one
        const pipeline = new MiniPipeline(db, stage);
        await pipeline.write(owner, [{ op: OpCode.createSession, req: null, timeOut: 30_000 }]);
        await pipeline.write(owner, [{ op: OpCode.create, req: { path: '/p', data: null, acl: [...openAclUnsafe], flags: 0 } }]);
        for (const path of paths) {
          await pipeline.write(owner, [{ op: OpCode.create, req: { path, data: null, acl: [...openAclUnsafe], flags: Mode.ephemeral } }]);
        }
        await stage.close();
      }
      let omitted = 0;
      const db = new ZkDatabase({ extendedTypesEnabled: true, juteMaxBufferBytes: 2048, onCloseListOmitted: () => void omitted++ });
      const r = recover(db, { dataDir: dir, dataLogDir: dir });
      const stage = stageOf(db, r.lastZxid, r.sessions);
      await new MiniPipeline(db, stage).write(owner, [{ op: OpCode.closeSession, req: null }]);
      await stage.close();
      assert.equal(omitted, 1);
      for (const log of readdirSync(versionDir(dir)).filter((f) => f.startsWith('log.'))) {
        const text = runJava('org.apache.zookeeper.server.persistence.TxnLogToolkit', [join(versionDir(dir), log)]);
        assert.doesNotMatch(text, /CRC ERROR|partial|Exception/, text);
      }
      const zk = await zookeeperOn(dir);
      assert.equal(zk.zxid, db.lastZxid);
      assert.equal(zk.digest, db.tree.treeDigest());
      assert.equal(db.tree.getNode(paths[0] ?? ''), undefined);
    } finally {
      removeDir(dir);
    }
  });
});
