// What several record families share: the empty buffer, the unknown-op error, the path-then-int
// body.

import { JuteError } from '../reader.js';
import type { JuteWriter } from '../writer.js';

export const EMPTY = new Uint8Array(0);

export function unknownOp(what: string, op: number): never {
  throw new JuteError('ZKTS_ERR_JUTE_UNKNOWN_OP', `unknown ${what} type ${op}`);
}

/** AddWatchRequest {path, mode} and Remove/CheckWatchesRequest {path, type}: path then int. */
export function encodePathInt(w: JuteWriter, path: string, v: number): void {
  w.writeString(path);
  w.writeInt(v);
}
