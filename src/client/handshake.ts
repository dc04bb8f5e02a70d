// The handshake's packets and what follows from its answer: the ConnectRequest frame, the
// timeouts a (requested or negotiated) session timeout gives, and the packets that prime a new
// connection before any queued request (ClientCnxn.primeConnection): SetWatches (SetWatches2 when
// persistent watches exist) and the auth packets.

import { OpCode, Xid } from '../common/zk.js';
import { encodeConnectRequest, type JuteWriter } from '../protocol/jute/index.js';
import type { ConnectRequest } from '../protocol/types.js';
import { serverPath } from './hosts.js';
import { pingIntervalMsMax, setWatchesCharsMax } from './limits.js';
import { Request, type RequestQueue } from './queue.js';
import type { WatchManager } from './watches.js';

/** The connection's timers, from one session timeout. */
export interface Timeouts {
  /** Nothing received for this long: the connection is dropped (2/3 of the session timeout). */
  readonly readTimeoutMs: number;
  /** Per connect attempt: the option, or the session timeout / host count. */
  readonly connectTimeoutMs: number;
  /** Nothing sent for this long: a ping (half the read timeout, at most pingIntervalMsMax). */
  readonly pingIntervalMs: number;
}

/** The timeouts of a session timeout of `sessionTimeoutMs` over `hostCount` hosts;
 *  `connectTimeoutMsOption` 0 when not given. */
export function timeoutsOf(sessionTimeoutMs: number, hostCount: number, connectTimeoutMsOption: number): Timeouts {
  const readTimeoutMs = Math.floor((sessionTimeoutMs * 2) / 3);
  return {
    readTimeoutMs,
    connectTimeoutMs: connectTimeoutMsOption || Math.floor(sessionTimeoutMs / hostCount),
    pingIntervalMs: Math.min(Math.floor(readTimeoutMs / 2), pingIntervalMsMax),
  };
}

/** The ConnectRequest, framed, as its own buffer; `w` is left empty. */
export function connectRequestFrame(w: JuteWriter, req: ConnectRequest): Buffer {
  w.reset();
  w.beginFrame();
  encodeConnectRequest(w, req);
  w.endFrame();
  const frame = w.bytesCopy();
  w.reset();
  return frame;
}

/** An auth packet (xid Xid.auth; its reply carries no body). */
export function writeAuth(w: JuteWriter, scheme: string, auth: Uint8Array): void {
  w.beginFrame();
  w.writeInt(Xid.auth);
  w.writeInt(OpCode.auth);
  w.writeInt(0); // AuthPacket.type: unused by ZooKeeper servers, 0 as ClientCnxn sends it
  w.writeString(scheme);
  w.writeBuffer(auth);
  w.endFrame();
}

/** SetWatches (SetWatches2 when persistent watches exist) for every watch in `wm`, with
 *  relativeZxid = `lastZxid`, split into packets of at most setWatchesCharsMax path characters,
 *  as ClientCnxn.primeConnection sends them. Each packet's reply is queued in `queue`. */
export function writeSetWatches(w: JuteWriter, wm: WatchManager, lastZxid: number, chroot: string, queue: RequestQueue): void {
  if (wm.empty) return;
  const two = wm.hasPersistent;
  const tables = two
    ? [wm.data, wm.exist, wm.child, wm.persistent, wm.persistentRecursive]
    : [wm.data, wm.exist, wm.child];
  const lists: string[][] = tables.map(() => []);
  let chars = 0;
  const emit = (): void => {
    w.beginFrame();
    w.writeInt(Xid.setWatches);
    w.writeInt(two ? OpCode.setWatches2 : OpCode.setWatches);
    w.writeLong(lastZxid);
    for (const l of lists) w.writeStringVector(l);
    w.endFrame();
    const r = new Request(two ? OpCode.setWatches2 : OpCode.setWatches, '');
    r.xid = Xid.setWatches;
    queue.sent(r);
    for (const l of lists) l.length = 0;
    chars = 0;
  };
  tables.forEach((t, i) => {
    for (const path of t.keys()) {
      const sp = serverPath(chroot, path);
      if (chars > 0 && chars + sp.length > setWatchesCharsMax) emit();
      (lists[i] as string[]).push(sp);
      chars += sp.length;
    }
  });
  if (chars > 0) emit();
}
