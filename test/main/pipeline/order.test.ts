// pipeline/order.ts: a session's writes in flight and the requests behind them; the core's
// assertions that keep them honest (writes in flight never negative, nothing answered at once
// ahead of a write of its session).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssertionError } from '../../../src/common/assert.js';
import { OpCode } from '../../../src/common/zk.js';
import { Core, type Outbound } from '../../../src/main/core.js';
import { createLogger } from '../../../src/main/logger.js';
import { CoreState } from '../../../src/main/pipeline/core-state.js';
import { ZkDatabase, type PreparedTxn } from '../../../src/main/pipeline/database.js';
import { JuteWriter, encodeRequest } from '../../../src/protocol/jute/index.js';
import { MemoryLogStage } from '../../../src/main/pipeline/log-stage.js';
import { canRunNow, holdForWrite, writeDone } from '../../../src/main/pipeline/order.js';
import { SessionContext } from '../../../src/main/sessions/table.js';
import { AttachView, RequestView, SessionFlag } from '../../../src/shm/records.js';

const replies: number[] = [];
const out: Outbound = {
  reply: (_w, _s, xid) => void replies.push(xid),
  attached: () => {},
  event: () => {},
  watchRegister: () => {},
  sessionEnd: () => {},
  upgraded: () => {},
  flush: () => {},
};

function parts() {
  return {
    db: new ZkDatabase({ extendedTypesEnabled: false }),
    log: new MemoryLogStage<PreparedTxn>(),
    out,
    opts: { tickTimeMs: 200, localSessionsUpgradingEnabled: false, extendedTypesEnabled: false, sessionSecretConfigured: true },
    logger: createLogger('silent', 'test'),
    now: Date.now,
    onApplied: () => {},
  };
}

function session(): SessionContext {
  return new SessionContext({ id: 0x77n, hi: 0, lo: 0x77, worker: 0, connId: 1, timeoutMs: 4000, local: true, ip: '127.0.0.1' });
}

describe('per-session order', () => {
  it('a read waits behind a write in flight; a write may join it; writeDone releases', () => {
    const c = new CoreState(parts());
    const ran: number[] = [];
    c.execute = (_s, xid) => void ran.push(xid);
    const s = session();
    assert.equal(canRunNow(c, s, OpCode.getData), true);
    holdForWrite(s);
    assert.equal(canRunNow(c, s, OpCode.getData), false);
    assert.equal(canRunNow(c, s, OpCode.setData), true);
    s.waiting!.push({ xid: 2, op: OpCode.getData, body: new Uint8Array(0) });
    assert.equal(canRunNow(c, s, OpCode.setData), false, 'nothing overtakes what waits');
    writeDone(c, s);
    assert.deepEqual(ran, [2]);
    assert.equal(s.waiting, null);
  });

  it('asserts that writes in flight never go negative', () => {
    const c = new CoreState(parts());
    assert.throws(() => writeDone(c, session()), AssertionError);
  });

  it('asserts that a read is never answered ahead of a write of its session', () => {
    const core = new Core(parts());
    const a = Object.assign(new AttachView(), { sidHi: 0, sidLo: 0x77, connId: 1, timeoutMs: 4000, flags: SessionFlag.create | SessionFlag.local, ip: '127.0.0.1' });
    core.onAttach(0, a);
    const s = core.sessions.get(0, 0x77)!;
    const w = new JuteWriter(64);
    encodeRequest(w, { op: OpCode.getChildren, req: { path: '/', watch: false } });
    const body = Uint8Array.from(w.bytes());
    const read = Object.assign(new RequestView(), { sidHi: 0, sidLo: 0x77, xid: 5, op: OpCode.getChildren, bodyOffset: 0, end: body.length });
    core.onRequest(0, read, body);
    assert.deepEqual(replies.splice(0), [5], 'answered at once');
    // A broken state (a write counted in flight with no queue) would let the read through:
    // the core stops rather than answer it first.
    s.writesInFlight = 1;
    assert.throws(() => core.onRequest(0, read, body), AssertionError);
    assert.deepEqual(replies, []);
  });
});
