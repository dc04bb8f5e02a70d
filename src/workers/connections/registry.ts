// The worker's connections: ids, dense slots, and the idle expirer that closes a connection
// nothing has been heard from for its timeout (NIOServerCnxnFactory's connection expirer).

import { ExpiryQueue } from '../../common/expiry-queue.js';
import type { ConnHandler, ConnSocket, IoCounters, OutSlab } from '../conn.js';
import type { WorkerLog } from '../log.js';
import { sessionlessConnectionTimeoutMs } from '../limits.js';
import { ClientConn } from './client-conn.js';

export interface ConnRegistryOptions {
  /** Frames, four-letter words and closes of every connection go here. */
  handler: ConnHandler;
  /** Output slab and packet counters all connections share. */
  slab: OutSlab;
  counters: IoCounters;
  frameBytesMax: number;
  log: WorkerLog;
  tickTimeMs: number;
  nowMs: number;
}

export class ConnRegistry {
  readonly #options: ConnRegistryOptions;
  readonly #conns = new Map<number, ClientConn>();
  readonly #bySlot: (ClientConn | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  #nextId = 1;
  /** Every connection, by connection slot: idle for its timeout → closed. */
  readonly #expiry: ExpiryQueue;
  readonly #expire = (slot: number): void => this.#expireIdle(slot);

  constructor(options: ConnRegistryOptions) {
    this.#options = options;
    this.#expiry = new ExpiryQueue(options.tickTimeMs, options.nowMs);
  }

  /** A new connection, registered with the sessionless idle timeout (not yet started). */
  add(socket: ConnSocket, ip: string, nowMs: number): ClientConn {
    const o = this.#options;
    const id = this.#nextId;
    this.#nextId = id === 0xffffffff ? 1 : id + 1;
    const slot = this.#freeSlots.pop() ?? this.#bySlot.length;
    const conn = new ClientConn({
      id,
      slot,
      socket,
      ip,
      handler: o.handler,
      slab: o.slab,
      counters: o.counters,
      frameBytesMax: o.frameBytesMax,
    });
    this.#conns.set(id, conn);
    this.#bySlot[slot] = conn;
    this.#expiry.update(slot, nowMs, sessionlessConnectionTimeoutMs);
    return conn;
  }

  /** The connection closed: its id and slot are free. */
  remove(conn: ClientConn): void {
    this.#conns.delete(conn.id);
    this.#bySlot[conn.slot] = undefined;
    this.#freeSlots.push(conn.slot);
    this.#expiry.remove(conn.slot);
  }

  get(id: number): ClientConn | undefined {
    return this.#conns.get(id);
  }

  values(): IterableIterator<ClientConn> {
    return this.#conns.values();
  }

  /** Heard from `conn`: it may stay idle `idleMs` more. A connection that holds a local session
   *  is left to that session's expiry (session/lifecycle.ts), which falls due in the same tick
   *  (same timeout, same clock reading) and runs first, and closes it: one expiry touch per
   *  ping, not two. */
  touch(conn: ClientConn, nowMs: number, idleMs: number): void {
    if (conn.session?.local === true) this.#expiry.remove(conn.slot);
    else this.#expiry.update(conn.slot, nowMs, idleMs);
  }

  /** Close the connections idle past their timeout. */
  poll(nowMs: number): void {
    this.#expiry.poll(nowMs, this.#expire);
  }

  /**
   * Connections not yet closing. A 4lw connection is marked closing before its answer is written,
   * so a client that has read one answer and asks again never sees the old connection counted
   * (its socket's 'close' event may come a turn later), as ZooKeeper removes it on close.
   */
  aliveCount(): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.isOpen) n++;
    return n;
  }

  #expireIdle(slot: number): void {
    const conn = this.#bySlot[slot];
    if (conn === undefined) return;
    this.#options.log.debug({ remote: conn.remote, sid: conn.session?.hex }, 'connection idle: closing');
    conn.close();
  }
}
