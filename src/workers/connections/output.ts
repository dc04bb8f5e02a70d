// Output and backpressure: which connections have replies queued this turn, the end-of-turn
// flush, and the three reasons a socket stops being read for its output's sake: its client does
// not read (paused, then dropped past connOutputBytesMax; together bounded by
// workerStalledOutputBytesMax), and the worker → main ring is full (paused until it drains).
//
// Output is queued per connection and flushed once per event-loop turn: after each batch of ring
// records (the channel pump's afterBatch) and at the end of each turn of socket reads / ticks.

import type { Bridge } from '../bridge.js';
import { ConnState, OutSlab, Pause } from '../conn.js';
import { Err, Xid } from '../../common/zk.js';
import { replyHeaderFrameBytes, setJuteLong, writeReplyFrame } from '../frames.js';
import { connOutputBytesMax, connOutputPauseBytes, workerStalledOutputBytesMax } from '../limits.js';
import type { WorkerLog } from '../log.js';
import { StalledOutput } from '../stalled-output.js';
import type { ClientConn } from './client-conn.js';

export class Output {
  /** The slab every connection's reply frames are written into. */
  readonly slab = new OutSlab();
  readonly #bridge: Pick<Bridge, 'publish' | 'writable'>;
  readonly #log: WorkerLog;
  readonly #header = { xid: 0, zxid: 0, err: 0 };
  #dirty: ClientConn[] = [];
  /** Connections whose clients do not read (output above connOutputPauseBytes), and the
   *  output they hold (see workerStalledOutputBytesMax). */
  readonly #stalled = new StalledOutput<ClientConn>();
  #turnScheduled = false;
  /** The ping answer frame for #pingZxid (writePingNow). */
  #pingFrame: Buffer = Buffer.alloc(0);
  #pingZxid = Number.NaN;
  #ringPaused: ClientConn[] = [];
  #ringWaiting = false;

  /** Publish what this turn sent on the ring, then flush the sockets written to. */
  readonly endTurn = (): void => {
    this.#turnScheduled = false;
    this.#bridge.publish();
    this.flush();
  };

  constructor(bridge: Pick<Bridge, 'publish' | 'writable'>, log: WorkerLog) {
    this.#bridge = bridge;
    this.#log = log;
  }

  /** `conn` has output this turn: it is flushed at the turn's end. */
  mark(conn: ClientConn): ClientConn {
    if (!conn.dirty) this.#dirty.push(conn);
    return conn;
  }

  closeAfterFlush(conn: ClientConn): void {
    this.mark(conn);
    conn.closeAfterFlush();
  }

  /** End this turn (publish, flush) once the event loop is done with it. */
  scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(this.endTurn);
  }

  /** `conn` closed: what it held no longer counts as stalled. */
  forget(conn: ClientConn): void {
    this.#stalled.set(conn, 0);
  }

  flush(): void {
    const dirty = this.#dirty;
    if (dirty.length === 0) return;
    this.#dirty = [];
    for (const conn of dirty) {
      conn.flush();
      const queued = conn.writableBytes;
      if (conn.stalledBytes !== 0) this.#stalled.set(conn, queued);
      if (queued <= connOutputPauseBytes || conn.state !== ConnState.open) continue;
      if (queued > connOutputBytesMax) {
        this.#closeStalled(conn, queued, 'client does not read its replies');
        continue;
      }
      this.#stalled.set(conn, queued);
      if ((conn.pauseMask & Pause.output) === 0) {
        conn.pause(Pause.output);
        conn.socket.once('drain', () => {
          this.#stalled.set(conn, 0);
          conn.resume(Pause.output);
          this.scheduleTurn();
        });
      }
    }
    while (this.#stalled.bytes > workerStalledOutputBytesMax) {
      const worst = this.#stalled.worst();
      if (worst === null) break;
      this.#closeStalled(worst, worst.stalledBytes, 'clients that do not read hold too much output');
    }
  }

  #closeStalled(conn: ClientConn, queued: number, why: string): void {
    const fields = {
      remote: conn.remote,
      sid: conn.session?.hex,
      queued,
      stalledOutputBytes: this.#stalled.bytes,
    };
    this.#log.warn(fields, `closing connection: ${why}`);
    this.#stalled.set(conn, 0);
    conn.close(); // drops what it queued
  }

  /** The worker → main ring is full and its outbox large: stop reading until it drains. */
  ringPause(conn: ClientConn): void {
    conn.pause(Pause.ring);
    this.#ringPaused.push(conn);
    if (this.#ringWaiting) return;
    this.#ringWaiting = true;
    void this.#bridge.writable().then(() => {
      this.#ringWaiting = false;
      const paused = this.#ringPaused;
      this.#ringPaused = [];
      for (const c of paused) c.resume(Pause.ring);
      this.scheduleTurn();
    });
  }

  /**
   * A ping's answer written to the socket at once, as the plain-Node floor writes it: one frame
   * shared by every connection while the zxid stays the same, no slab, no flush, no end of turn.
   * Only when nothing is queued for `conn` (its answer must not overtake one queued this turn)
   * and its socket is not backed up; returns false (nothing written) otherwise.
   */
  writePingNow(conn: ClientConn, zxid: number): boolean {
    if (conn.stalledBytes !== 0 || !conn.writeNowReady()) return false;
    let frame = this.#pingFrame;
    if (zxid !== this.#pingZxid) {
      // A new buffer, never this one rewritten: sockets may still hold the old one.
      frame = Buffer.allocUnsafeSlow(replyHeaderFrameBytes);
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      view.setInt32(0, replyHeaderFrameBytes - 4);
      view.setInt32(4, Xid.ping);
      setJuteLong(view, 8, zxid);
      view.setInt32(16, Err.ok);
      this.#pingFrame = frame;
      this.#pingZxid = zxid;
    }
    conn.writeNow(frame);
    // A socket that did not take it whole goes through the end-of-turn output checks.
    if (conn.writableBytes > connOutputPauseBytes) {
      this.mark(conn);
      return false;
    }
    return true;
  }

  /**
   * An event frame shared by many connections (a watch fan-out): written to the socket at once
   * when nothing is queued for `conn` and its socket holds nothing (Conn.writeNowReady), and then
   * `conn` is not marked: a fan-out to thousands of sessions leaves no connection to flush. Else
   * it is queued behind what `conn` has queued this turn (Conn.writeShared), so the order of
   * frames on the wire is the order they were written.
   */
  writeShared(conn: ClientConn, frame: Buffer): void {
    if (conn.stalledBytes === 0 && conn.writeNowReady()) {
      conn.writeNow(frame);
      // A socket that did not take it whole goes through the end-of-turn output checks.
      if (conn.writableBytes > connOutputPauseBytes) this.mark(conn);
      return;
    }
    this.mark(conn).writeShared(frame);
  }

  writeHeader(conn: ClientConn, xid: number, zxid: number, err: number): void {
    this.writeReply(conn, xid, zxid, err, null, 0, 0);
  }

  /** ReplyHeader + body [bodyStart, bodyEnd) of `src` as one frame. */
  writeReply(
    conn: ClientConn,
    xid: number,
    zxid: number,
    err: number,
    src: Buffer | null,
    bodyStart: number,
    bodyEnd: number,
  ): void {
    const h = this.#header;
    h.xid = xid;
    h.zxid = zxid;
    h.err = err;
    const off = writeReplyFrame(this.slab, h, src, bodyStart, bodyEnd);
    this.mark(conn).commitOut(off, replyHeaderFrameBytes + bodyEnd - bodyStart);
  }
}
