// Unit tests of src/main/ensemble/payload-cache.ts: a proposal's payload decodes back to the
// txn, each txn is kept from the log until applied (then leaves), TRUNC and SNAP drop what they
// remove, and a learner's arriving payload is checked against its message's zxid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openAclUnsafe } from '../../../src/common/acl.js';
import { OpCode } from '../../../src/common/zk.js';
import { PayloadCache } from '../../../src/main/ensemble/payload-cache.js';
import type { PreparedTxn } from '../../../src/main/pipeline/prep.js';

function createAt(zxid: number): PreparedTxn {
  return {
    hdr: { clientId: 0x1234n, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.create },
    txn: { type: OpCode.create, path: `/n${zxid}`, data: new Uint8Array([zxid & 0xff]), acl: [...openAclUnsafe], ephemeral: false, parentCVersion: -1 },
  };
}

test('the leader: a proposed txn is kept until applied, the same object, and then leaves', () => {
  const c = new PayloadCache();
  const p = createAt(7);
  const payload = c.propose(p);
  assert.equal(c.size, 1);
  assert.equal(c.logged(7, payload), p);
  assert.equal(c.applied(7, payload), p);
  assert.equal(c.size, 0);
  // Not kept any more: decoded again from the payload, equal to what was proposed.
  assert.deepEqual(c.applied(7, payload), p);
});

test('a learner: an arriving payload is decoded and checked, and that txn goes to the log', () => {
  const leader = new PayloadCache();
  const payload = leader.propose(createAt(9));
  const c = new PayloadCache();
  assert.equal(c.arrived(9, payload), null);
  const logged = c.logged(9, payload);
  assert.deepEqual(logged, createAt(9));
  assert.equal(c.logged(9, payload), logged, 'kept by payload identity');
  assert.equal(c.applied(9, payload), logged, 'applied without decoding the payload again');
  assert.equal(c.size, 0);
  assert.match(c.arrived(10, payload) ?? '', /payload is the txn of 0x9/);
  assert.match(c.arrived(9, payload.subarray(0, 10)) ?? '', /does not decode/);
});

test('TRUNC drops the txns above the point; SNAP drops them all', () => {
  const c = new PayloadCache();
  const payloads = [1, 2, 3, 4].map((z) => c.propose(createAt(z)));
  c.truncateAfter(2);
  assert.equal(c.size, 2);
  assert.deepEqual(c.applied(3, payloads[2]!), createAt(3)); // decoded again
  c.clear();
  assert.equal(c.size, 0);
});
