// Unit tests of src/main/admin/digest-log.ts: the hash command's history keeps the digest of
// every 128th zxid, the newest 1024 of them, as signed longs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestLog } from '../../../src/main/admin/digest-log.js';
import { digestLogEntriesMax, digestLogIntervalTxns } from '../../../src/main/admin/limits.js';

test('only zxids that are multiples of the interval are kept, the digest read only then', () => {
  const log = new DigestLog();
  let reads = 0;
  const digest = (): bigint => {
    reads++;
    return 0xffffffffffffffffn;
  };
  for (let z = 1; z <= 3 * digestLogIntervalTxns; z++) log.applied(z, digest);
  assert.deepEqual(
    log.list().map((d) => d.zxid),
    [1, 2, 3].map((k) => k * digestLogIntervalTxns),
  );
  assert.equal(reads, 3);
  assert.equal(log.list()[0]?.digest, -1n, 'a Java long: signed');
});

test('a zxid at or below the last kept one is not kept twice; the full zxid counts', () => {
  const log = new DigestLog();
  log.applied(256, () => 1n);
  log.applied(128, () => 2n);
  log.applied(256, () => 3n);
  log.applied(0x100000000, () => 4n); // epoch 1, counter 0: a multiple of 128
  assert.deepEqual(
    log.list().map((d) => [d.zxid, d.digest]),
    [
      [256, 1n],
      [0x100000000, 4n],
    ],
  );
});

test('at most digestLogEntriesMax entries, the oldest dropped', () => {
  const log = new DigestLog();
  for (let i = 1; i <= digestLogEntriesMax + 5; i++) log.applied(i * digestLogIntervalTxns, () => BigInt(i));
  assert.equal(log.list().length, digestLogEntriesMax);
  assert.equal(log.list()[0]?.digest, 6n);
});
