// A real crash test of the txn log: a child process appends and flushes in random batches and
// prints an acknowledgement the moment each flush completes; the parent SIGKILLs it at a random
// (seeded) moment, recovers the directory, and checks that every acknowledged txn is there and
// that the recovered log has no hole. Several rounds run on one directory, each recovering what
// the previous crash left (torn tails, files created at a roll and never written) and going on.
//
// SIGKILL keeps the page cache, so this proves "acknowledged only after the write and fsync
// returned" and that recovery copes with whatever a killed writer leaves; torn sectors after a
// power cut are simulated in recovery.test.ts by cutting and zeroing files.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureVersionDirs, versionDir } from '../../../../src/main/storage/layout.js';
import { recover } from '../../../../src/main/storage/recovery.js';
import { mulberry32, newDb, removeDir, tempDir } from '../harness/helpers.js';

const writer = fileURLToPath(new URL('../harness/crash-writer.js', import.meta.url));
const seed = Number(process.env.ZKTS_CRASH_SEED ?? 20240611);
const rounds = Number(process.env.ZKTS_CRASH_ROUNDS ?? 8);

/** Runs the writer until killed `killAfterMs` after its first acknowledgement (so that every
 *  round makes progress however loaded the machine is); returns the highest acknowledged zxid. */
function runWriter(
  dir: string,
  childSeed: number,
  lastZxid: number,
  killAfterMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, String(childSeed), String(lastZxid)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = lastZxid;
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('ack ')) {
          if (acked === lastZxid) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          acked = Math.max(acked, Number(line.slice(4)));
        }
        nl = pending.indexOf('\n');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code} ${signal}: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('crash (SIGKILL) of a process writing the txn log', () => {
  it(`every acknowledged txn survives ${rounds} random kills (seed ${seed})`, async () => {
    const dir = tempDir('zkts-crash-');
    const random = mulberry32(seed);
    try {
      ensureVersionDirs(dir, dir);
      let acked = 0;
      let totalTruncations = 0;
      for (let round = 0; round < rounds; round++) {
        const db = newDb();
        const r = recover(db, { dataDir: dir, dataLogDir: dir });
        totalTruncations += r.truncated.length;
        assert.ok(r.lastZxid >= acked, `round ${round}: recovered ${r.lastZxid} < acked ${acked}`);
        for (let z = 1; z <= r.lastZxid; z++) {
          assert.ok(db.tree.getNode(`/n${z}`), `round ${round}: txn ${z} missing`);
        }
        const killAfterMs = Math.floor(random() * 150);
        const childSeed = Math.floor(random() * 2 ** 31);
        acked = await runWriter(versionDir(dir), childSeed, r.lastZxid, killAfterMs);
        assert.ok(acked > r.lastZxid, `round ${round}: the writer acknowledged nothing`);
      }
      const final = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.ok(final.lastZxid >= acked, `final: recovered ${final.lastZxid} < acked ${acked}`);
      // Not asserted (it depends on timing), but worth seeing when the test is run by hand.
      if (process.env.ZKTS_CRASH_VERBOSE !== undefined) {
        console.log({ acked, recovered: final.lastZxid, totalTruncations });
      }
    } finally {
      removeDir(dir);
    }
  });
});
