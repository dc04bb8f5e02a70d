// The lean load client's reply checks (src/load/lean-checks.ts), alone: a ConnectResponse must be
// version 0 with a positive timeout, a nonzero session id and a 16-byte password; a ping's reply
// a 16-byte ReplyHeader with xid -2 and err 0.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Err, Xid } from '../../src/common/zk.js';
import { checkConnectResponse, checkPingReply } from '../../src/load/lean-checks.js';
import { JuteWriter, encodeConnectResponse } from '../../src/protocol/jute/index.js';

function connectResponse(over: { protocolVersion?: number; timeOut?: number; sessionId?: bigint; passwd?: Uint8Array } = {}): Buffer {
  const w = new JuteWriter();
  encodeConnectResponse(w, {
    protocolVersion: over.protocolVersion ?? 0,
    timeOut: over.timeOut ?? 30_000,
    sessionId: over.sessionId ?? 0x1234n,
    passwd: over.passwd ?? new Uint8Array(16),
    readOnly: false,
  });
  return w.bytesCopy();
}

function replyHeader(xid: number, err: number, extra = 0): Buffer {
  const b = Buffer.alloc(16 + extra);
  b.writeInt32BE(xid, 0);
  b.writeInt32BE(err, 12);
  return b;
}

test('the ConnectResponse check', () => {
  const ok = connectResponse();
  assert.equal(checkConnectResponse(ok, 0, ok.length), null);
  for (const bad of [
    connectResponse({ protocolVersion: 1 }),
    connectResponse({ timeOut: 0 }),
    connectResponse({ sessionId: 0n }),
    connectResponse({ passwd: new Uint8Array(8) }),
    ok.subarray(0, 10),
  ]) {
    assert.notEqual(checkConnectResponse(bad, 0, bad.length), null);
  }
});

test('the ping reply check: xid -2, err 0, 16 bytes', () => {
  const ok = replyHeader(Xid.ping, Err.ok);
  assert.equal(checkPingReply(ok, 0, 16), null);
  assert.match(checkPingReply(replyHeader(7, Err.ok), 0, 16)!, /xid 7/);
  assert.match(checkPingReply(replyHeader(Xid.notification, Err.ok), 0, 16)!, /watch event/);
  assert.match(checkPingReply(replyHeader(Xid.ping, Err.sessionExpired), 0, 16)!, /sessionExpired/);
  assert.match(checkPingReply(replyHeader(Xid.ping, Err.ok, 4), 0, 20)!, /20 bytes/);
  assert.match(checkPingReply(ok, 0, 12)!, /12 bytes/);
});
