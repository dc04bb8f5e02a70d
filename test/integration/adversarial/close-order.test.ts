// Requests a client pipelines behind its closeSession are answered after it (found by the
// client-port fuzz, fuzz.test.ts): the main thread answered them SessionExpired at once, ahead
// of the closeSession still being written, the worker took that for a reply out of session
// order (an error line), dropped the connection and the client never got its closeSession
// answered. ZooKeeper runs them through its pipeline behind the closeSession (an error txn in
// its turn) and the connection closes once the closeSession is answered.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Err, OpCode } from '../../../src/common/zk.js';
import { JuteWriter, type RawConn, openSession, requestPacket } from '../harness/raw.js';
import { startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, isApache, suitePort, targetKind } from '../harness/target.js';

const ANSWER_TIMEOUT_MS = 30000;

let server: ServerHandle;
let port: number;

before(async () => {
  port = suitePort(SUITE_PORTS.advFuzz, 1);
  server = await startServer(targetKind(), { port, tickTime: 500 });
  const { conn } = await openSession(port, 10000);
  const w = new JuteWriter().string('/co').buffer(Buffer.alloc(0)).int(1).int(31).string('world').string('anyone').int(0);
  assert.equal((await conn.call(1, OpCode.create, w.bytes(), ANSWER_TIMEOUT_MS))?.err, Err.ok);
  conn.destroy();
});

after(async () => {
  await server?.stop();
});

const getData = (): Buffer => new JuteWriter().string('/co').bool(false).bytes();
const setData = (): Buffer => new JuteWriter().string('/co').buffer(Buffer.from('x')).int(-1).bytes();
const setAcl = (): Buffer => new JuteWriter().string('/co').int(1).int(31).string('world').string('anyone').int(-1).bytes();

/**
 * Sends the requests in one write and reads replies until the connection closes: the replies
 * must come in the order sent, each request up to the closeSession answered as `want` says,
 * those after it SessionExpired or left unanswered by the close.
 */
async function pipelineThroughClose(conn: RawConn, requests: Array<[number, Buffer, number | null]>): Promise<void> {
  await conn.write(Buffer.concat(requests.map(([op, body], i) => requestPacket(100 + i, op, body))));
  const closeAt = requests.findIndex(([op]) => op === OpCode.closeSession);
  let next = 0;
  for (;;) {
    const r = await conn.nextReply(ANSWER_TIMEOUT_MS);
    if (r === null) break;
    assert.equal(r.xid, 100 + next, `reply ${next} in order`);
    const want = requests[next]![2];
    assert.equal(r.err, next > closeAt ? Err.sessionExpired : want, `reply to request ${next}`);
    next++;
  }
  assert.ok(next > closeAt, `the closeSession was answered before the close (got ${next} replies)`);
}

function errorLines(): string[] {
  return server.logs().split('\n').filter((l) => /"level":(50|60)/.test(l));
}

test('a read pipelined behind closeSession: the closeSession is answered first, then the connection closes', async () => {
  const { conn } = await openSession(port, 10000);
  try {
    await pipelineThroughClose(conn, [
      [OpCode.closeSession, Buffer.alloc(0), Err.ok],
      [OpCode.getData, getData(), null],
      [OpCode.exists, getData(), null],
    ]);
  } finally {
    conn.destroy();
  }
  if (!isApache()) assert.deepEqual(errorLines(), []);
});

test('writes in flight, closeSession, then more writes and reads: all in order', async () => {
  const { conn } = await openSession(port, 10000);
  try {
    await pipelineThroughClose(conn, [
      [OpCode.setData, setData(), Err.ok],
      [OpCode.closeSession, Buffer.alloc(0), Err.ok],
      [OpCode.setACL, setAcl(), null],
      [OpCode.getData, getData(), null],
      [OpCode.setData, setData(), null],
    ]);
  } finally {
    conn.destroy();
  }
  if (!isApache()) assert.deepEqual(errorLines(), []);
});
