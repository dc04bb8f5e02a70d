// pipeline/writes.ts: committed txns are applied in zxid order, or the core stops.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssertionError } from '../../../src/common/assert.js';
import { CreateMode, OpCode, Perms } from '../../../src/common/zk.js';
import type { Outbound, Replication } from '../../../src/main/core.js';
import { createLogger } from '../../../src/main/logger.js';
import { CoreState } from '../../../src/main/pipeline/core-state.js';
import { ZkDatabase, type PreparedTxn } from '../../../src/main/pipeline/database.js';
import { MemoryLogStage } from '../../../src/main/pipeline/log-stage.js';
import { applyCommitted } from '../../../src/main/pipeline/writes.js';

const out: Outbound = {
  reply: () => {},
  attached: () => {},
  event: () => {},
  watchRegister: () => {},
  sessionEnd: () => {},
  upgraded: () => {},
  flush: () => {},
};

const follower: Replication = { writable: () => false, propose: () => {} };

describe('the write path', () => {
  it('applies committed txns in zxid order and refuses one that goes back', () => {
    const db = new ZkDatabase({ extendedTypesEnabled: false });
    const applied: number[] = [];
    const c = new CoreState({
      db,
      log: new MemoryLogStage<PreparedTxn>(),
      out,
      opts: { tickTimeMs: 200, localSessionsUpgradingEnabled: false, extendedTypesEnabled: false, sessionSecretConfigured: true },
      logger: createLogger('silent', 'test'),
      now: Date.now,
      onApplied: (zxid) => void applied.push(zxid),
      replication: follower,
    });
    const ctx = { sessionId: 1n, cxid: 1, authIds: [], isLocalSession: false };
    const create = (path: string): PreparedTxn =>
      db.prepare(ctx, { op: OpCode.create, req: { path, data: null, acl: [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }], flags: CreateMode.persistent } }, 0);
    const a = create('/a');
    const b = create('/b');
    applyCommitted(c, a);
    applyCommitted(c, b);
    assert.deepEqual(applied, [a.hdr.zxid, b.hdr.zxid]);
    assert.throws(() => applyCommitted(c, b), AssertionError);
    assert.deepEqual(applied, [a.hdr.zxid, b.hdr.zxid], 'nothing applied past the broken order');
  });
});
