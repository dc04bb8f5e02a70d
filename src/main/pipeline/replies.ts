// Replies leave the main thread here: a response encoded into the reply writer (kept while large
// replies keep coming), a reply too large for the rings, and a bare error reply.

import { sessionIdHex, sessionIdOf } from '../../common/ids.js';
import { Err, OpCode } from '../../common/zk.js';
import { JuteWriter, encodeResponse } from '../../protocol/jute/index.js';
import type { ClientResponse } from '../../protocol/types.js';
import { ReplyFlag, replyBodyBytesMax } from '../../shm/records.js';
import { SessionContext } from '../sessions/table.js';
import { writerBytesInitial, type CoreState } from './core-state.js';

/** A reply writer that grew past this for a large reply is kept while large replies keep coming
 *  (its pages are already mapped: a fresh 32 MiB buffer costs more in page faults than the copy
 *  into it), and dropped by the first tick after writerLargeIdleMs without one. */
const writerBytesKept = 1 << 20;
const writerLargeIdleMs = 10_000;

/** Each tick: a writer kept for large replies goes once none came for writerLargeIdleMs. */
export function dropIdleLargeWriter(c: CoreState, now: number): void {
  if (c.writerLargeAtMs !== 0 && now - c.writerLargeAtMs >= writerLargeIdleMs) {
    c.writer = new JuteWriter(writerBytesInitial);
    c.writerLargeAtMs = 0;
  }
}

export function replyWith(c: CoreState, s: SessionContext, xid: number, zxid: number, err: number, response: ClientResponse | null): void {
  let body: Uint8Array | null = null;
  if (err === Err.ok && response !== null && response.res !== null) {
    c.writer.reset();
    encodeResponse(c.writer, response);
    body = c.writer.bytes();
  } else if (response !== null && (response.op === OpCode.multi || response.op === OpCode.multiRead)) {
    // A failed multi still carries its per-op results (MultiResponse with error results).
    c.writer.reset();
    encodeResponse(c.writer, response);
    body = c.writer.bytes();
  }
  if (body !== null && body.length > replyBodyBytesMax) {
    replyTooLarge(c, s, xid, zxid, response!.op, body.length);
  } else {
    c.out.reply(s.worker, s, xid, zxid, err, body, 0);
  }
  if (body !== null && body.length > writerBytesKept) c.writerLargeAtMs = c.now();
}

/**
 * A reply larger than the rings deliver (a getChildren of a node with millions of children,
 * a multiRead of the same large node many times): ZooKeeper would send it and a client with a
 * smaller jute.maxbuffer would drop the connection. Here the connection pays at once: the
 * worker closes it in the session's turn (ReplyFlag.tooLarge). `bytes` is null when the reply
 * was not built (Reads stopped collecting past the bound).
 */
export function replyTooLarge(c: CoreState, s: SessionContext, xid: number, zxid: number, op: number, bytes: number | null): void {
  c.logger.warn(
    { session: sessionIdHex(s.id), xid, op, replyBytes: bytes, replyBytesMax: replyBodyBytesMax },
    'reply too large to deliver: closing the connection',
  );
  c.out.reply(s.worker, s, xid, zxid, Err.ok, null, ReplyFlag.tooLarge);
}

export function replyBare(c: CoreState, worker: number, hi: number, lo: number, xid: number, err: number): void {
  const s = new SessionContext({ id: sessionIdOf(hi, lo), hi, lo, worker, connId: 0, timeoutMs: 0, local: true, ip: '' });
  c.out.reply(worker, s, xid, c.db.lastZxid, err, null, 0);
}
