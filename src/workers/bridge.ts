// The worker's side of its channel (src/shm/channel.ts): encodes worker → main records in place
// and decodes main → worker records into reusable flyweights (src/shm/records.ts) before handing
// them to the session logic. Nothing here allocates per record except the strings a record
// carries (paths) and, for records that must leave the ring, what the caller copies.

import { assert } from '../common/assert.js';
import { Channel, type ChannelDescriptor } from '../shm/channel.js';
import { quietWakeDelayMs } from './limits.js';
import {
  AttachedView,
  DetachReason,
  EventView,
  RecordKind,
  ReplyView,
  SessionEndView,
  WatchRegisterView,
  attachBytes,
  authBytes,
  detachBytes,
  encodeAttach,
  encodeAuth,
  encodeDetach,
  encodeRequestHeader,
  requestHeaderBytes,
  touchBytes,
  type AttachFields,
} from '../shm/records.js';

/** What the worker does with each main → worker record. Views are valid during the call only. */
export interface BridgeHandler {
  /** `ring` holds the reply body at [v.bodyOffset, v.end): the ring's memory, or the buffer a
   *  record that came in fragments was reassembled into. */
  onReply(v: ReplyView, ring: Buffer): void;
  onAttached(v: AttachedView): void;
  onEvent(v: EventView): void;
  onWatchRegister(v: WatchRegisterView): void;
  onSessionEnd(v: SessionEndView): void;
  onUpgraded(sidHi: number, sidLo: number): void;
  /** After each batch of records, before the channel publishes what the handlers sent. */
  afterBatch(): void;
}

/** The fields of a request record header (reused; see sendRequest). */
export interface RequestFields {
  sidHi: number;
  sidLo: number;
  xid: number;
  op: number;
  flags: number;
  timeoutMs: number;
}

export class Bridge {
  readonly channel: Channel;
  #txBytes: Uint8Array | null = null;
  #txBuf: Buffer = Buffer.alloc(0);
  /** The timer that wakes the main thread for records published quietly. */
  #quietWake: NodeJS.Timeout | null = null;

  readonly #reply = new ReplyView();
  readonly #attached = new AttachedView();
  readonly #event = new EventView();
  readonly #watch = new WatchRegisterView();
  readonly #end = new SessionEndView();

  constructor(descriptor: ChannelDescriptor) {
    this.channel = new Channel(descriptor, 'worker');
  }

  get maxPayloadBytes(): number {
    return this.channel.maxPayloadBytes;
  }

  /** Payload bytes queued outside the ring because it is full: pause sources above a bound. */
  get outboxBytes(): number {
    return this.channel.outboxBytes;
  }

  writable(): Promise<void> {
    return this.channel.writable();
  }

  /**
   * Make this turn's records visible to the main thread. Records sent quiet (see sendAttach)
   * wake it at most `quietWakeDelayMs` later, so that a burst of connects costs the main thread
   * one wake-up, not one per connect; any other record wakes it at once and takes them along.
   */
  publish(): void {
    const ch = this.channel;
    ch.publish();
    if (ch.quietUnrung && this.#quietWake === null) {
      this.#quietWake = setTimeout(this.#wakeQuiet, quietWakeDelayMs);
      this.#quietWake.unref();
    }
  }

  readonly #wakeQuiet = (): void => {
    this.#quietWake = null;
    if (this.channel.quietUnrung) this.channel.wakePeer();
  };

  /** Pump main → worker records until the channel closes. */
  start(h: BridgeHandler): Promise<void> {
    const handle = (kind: number, view: DataView, off: number, bytes: number, mem: Buffer): void => {
      this.#dispatch(h, kind, view, off, bytes, mem);
    };
    return this.channel.start(handle, { afterBatch: () => h.afterBatch() });
  }

  close(): void {
    if (this.#quietWake !== null) clearTimeout(this.#quietWake);
    this.#quietWake = null;
    this.channel.close();
  }

  #dispatch(h: BridgeHandler, kind: number, view: DataView, off: number, bytes: number, buf: Buffer): void {
    switch (kind) {
      case RecordKind.reply:
        h.onReply(this.#reply.read(view, off, bytes), buf);
        return;
      case RecordKind.attached:
        h.onAttached(this.#attached.read(view, off));
        return;
      case RecordKind.event:
        h.onEvent(this.#event.read(buf, view, off));
        return;
      case RecordKind.watchRegister:
        h.onWatchRegister(this.#watch.read(buf, view, off));
        return;
      case RecordKind.sessionEnd:
        h.onSessionEnd(this.#end.read(view, off));
        return;
      case RecordKind.upgraded:
        h.onUpgraded(view.getUint32(off, true), view.getUint32(off + 4, true));
        return;
      default:
        assert(false, `worker: unknown record kind ${kind} from the main thread`);
    }
  }

  // ---- worker → main ------------------------------------------------------------------------

  /** The tx bytes as a Buffer (records.ts string encoders want one); rebuilt when they move. */
  #tx(): Buffer {
    const bytes = this.channel.bytes;
    if (bytes !== this.#txBytes) {
      this.#txBytes = bytes;
      this.#txBuf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.#txBuf;
  }

  /**
   * A request record: the header fields, then the raw jute body [bodyStart, bodyEnd) of `frame`
   * copied straight from the socket chunk into the ring.
   */
  sendRequest(r: RequestFields, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.request, requestHeaderBytes + bodyEnd - bodyStart);
    encodeRequestHeader(ch.view, off, r);
    frame.copy(this.#tx(), off + requestHeaderBytes, bodyStart, bodyEnd);
    ch.commit();
  }

  /**
   * An attach record. `quiet`: no answer is awaited (a new local session, a local re-attach, a
   * wrong password: the worker has answered its client), so the main thread is woken for it
   * within quietWakeDelayMs rather than at once (publish()). It stays in order behind and ahead
   * of this worker's other records; the main thread catches up on every worker's ring before
   * it finds a re-established session unknown (src/main/bridge.ts catchUp).
   */
  sendAttach(a: AttachFields, quiet = false): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.attach, attachBytes(a));
    encodeAttach(this.#tx(), ch.view, off, a);
    if (quiet) ch.commitQuiet();
    else ch.commit();
  }

  /**
   * A detach record. A closed connection's is quiet, like a new local session's attach: the main
   * thread only forgets the auth ids that connection added (nothing for a local session) and
   * answers nothing, so a herd of drops costs it a wake-up per quietWakeDelayMs, not per drop.
   * A session that ended here (expired, closed) wakes it at once.
   */
  sendDetach(sidHi: number, sidLo: number, connId: number, reason: number): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.detach, detachBytes);
    encodeDetach(ch.view, off, { sidHi, sidLo, connId, reason });
    if (reason === DetachReason.connectionClosed) ch.commitQuiet();
    else ch.commit();
  }

  sendAuth(sidHi: number, sidLo: number, scheme: string, id: string): void {
    const ch = this.channel;
    const off = ch.reserve(RecordKind.auth, authBytes(scheme, id));
    encodeAuth(this.#tx(), ch.view, off, { sidHi, sidLo, scheme, id });
    ch.commit();
  }

  /** Largest number of sessions one touch record carries. */
  get touchBatchMax(): number {
    return Math.floor((this.maxPayloadBytes - 4) / 8);
  }

  /** touch: `count` sessions whose (hi, lo) are at [2i, 2i + 1] of `ids`. */
  sendTouch(ids: Uint32Array, count: number): void {
    assert(count > 0 && count <= this.touchBatchMax, 'sendTouch: bad count');
    const ch = this.channel;
    const off = ch.reserve(RecordKind.touch, touchBytes(count));
    const view = ch.view;
    view.setUint32(off, count, true);
    for (let i = 0; i < count; i++) {
      view.setUint32(off + 4 + i * 8, ids[2 * i]!, true);
      view.setUint32(off + 8 + i * 8, ids[2 * i + 1]!, true);
    }
    ch.commit();
  }
}
