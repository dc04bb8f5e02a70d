// The sessions a worker holds (src/workers/session/lifecycle.ts): what a session's end costs when
// nobody reads the log line it would make.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetachReason, SessionEndReason } from '../../../src/shm/records.js';
import type { ClientConn } from '../../../src/workers/connections/client-conn.js';
import type { Output } from '../../../src/workers/connections/output.js';
import { type WorkerLog, silentLog } from '../../../src/workers/log.js';
import type { RequestsInFlight } from '../../../src/workers/requests/in-flight.js';
import { WorkerSessions } from '../../../src/workers/session/lifecycle.js';
import { WatchTable } from '../../../src/workers/watches/table.js';

/** A conn that fails the test if anyone builds its 'ip:port' (a log line's text). */
function conn(id: number): ClientConn {
  return {
    id,
    session: null,
    get remote(): string {
      throw new Error('remote built for a log line nobody reads');
    },
    close(): void {},
  } as unknown as ClientConn;
}

function setUp(log: WorkerLog): { sessions: WorkerSessions; detaches: number[] } {
  const detaches: number[] = [];
  const sessions = new WorkerSessions({
    bridge: {
      sendDetach: (_hi: number, _lo: number, _connId: number, reason: number) => detaches.push(reason),
      sendTouch: () => {},
      touchBatchMax: 64,
    },
    log,
    watches: new WatchTable(),
    inFlight: { retire: () => {} } as unknown as RequestsInFlight,
    output: { closeAfterFlush: () => {} } as unknown as Output,
    tickTimeMs: 2000,
    nowMs: 0,
  });
  return { sessions, detaches };
}

describe('WorkerSessions: log lines are built only when logged (issue 11 goal 5, herds)', () => {
  const quiet: WorkerLog = {
    ...silentLog,
    info: () => assert.fail('info called while info is off'),
  };

  it('a dropped connection, an ended session and an expired local one build no line at warn', () => {
    const { sessions, detaches } = setUp(quiet);
    const a = sessions.table.add(1, 1, 4000, true, false)!;
    a.conn = conn(1);
    sessions.detached(a, a.conn);
    const b = sessions.table.add(1, 2, 4000, false, false)!;
    b.conn = conn(2);
    sessions.ended({ sidHi: 1, sidLo: 2, reason: SessionEndReason.moved } as never);
    const c = sessions.table.add(1, 3, 4000, true, false)!;
    sessions.established(c, 0);
    sessions.poll(60_000);
    assert.deepEqual(detaches, [DetachReason.connectionClosed, DetachReason.localSessionExpired]);
    assert.equal(sessions.table.size, 1, 'the local session whose connection dropped stays until it expires');
  });

  it('a client closing its session builds no line at warn', () => {
    const { sessions } = setUp(quiet);
    const s = sessions.table.add(1, 4, 4000, true, false)!;
    s.conn = conn(4);
    sessions.closedByClient(s);
    assert.equal(sessions.table.size, 0);
  });
});
