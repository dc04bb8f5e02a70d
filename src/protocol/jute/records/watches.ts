// Watch records: the WatcherEvent notification and the bodies of setWatches, setWatches2,
// addWatch and checkWatches / removeWatches.

import type {
  AddWatchRequest,
  RemoveWatchesRequest,
  SetWatches,
  SetWatches2,
  WatcherEvent,
} from '../../types.js';
import type { JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';

export function encodeWatcherEvent(w: JuteWriter, e: WatcherEvent): void {
  w.writeInt(e.type);
  w.writeInt(e.state);
  w.writeString(e.path);
}
export function decodeWatcherEvent(r: JuteReader): WatcherEvent {
  const type = r.readInt();
  const state = r.readInt();
  return { type, state, path: r.readString() };
}

export function encodeSetWatches(w: JuteWriter, q: SetWatches): void {
  w.writeLong(q.relativeZxid);
  w.writeStringVector(q.dataWatches);
  w.writeStringVector(q.existWatches);
  w.writeStringVector(q.childWatches);
}
export function decodeSetWatches(r: JuteReader): SetWatches {
  const relativeZxid = r.readLong();
  const dataWatches = r.readStringVector();
  const existWatches = r.readStringVector();
  return { relativeZxid, dataWatches, existWatches, childWatches: r.readStringVector() };
}
export function encodeSetWatches2(w: JuteWriter, q: SetWatches2): void {
  encodeSetWatches(w, q);
  w.writeStringVector(q.persistentWatches);
  w.writeStringVector(q.persistentRecursiveWatches);
}
export function decodeSetWatches2(r: JuteReader): SetWatches2 {
  const s = decodeSetWatches(r);
  const persistentWatches = r.readStringVector();
  return {
    relativeZxid: s.relativeZxid,
    dataWatches: s.dataWatches,
    existWatches: s.existWatches,
    childWatches: s.childWatches,
    persistentWatches,
    persistentRecursiveWatches: r.readStringVector(),
  };
}

/** AddWatchRequest and Remove/CheckWatchesRequest encode with encodePathInt (shared.ts). */
export function decodeAddWatch(r: JuteReader): AddWatchRequest {
  const path = r.readString();
  return { path, mode: r.readInt() };
}
export function decodeRemoveWatches(r: JuteReader): RemoveWatchesRequest {
  const path = r.readString();
  return { path, type: r.readInt() };
}
