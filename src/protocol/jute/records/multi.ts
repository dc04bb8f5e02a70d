// The multi codec: MultiHeader, MultiOperationRecord (multi / multiRead requests, with the
// read-vs-write op check) and MultiResponse; the sub-op bodies are data.ts's.

import { Err, OpCode, type OpCodeOf } from '../../../common/zk.js';
import type { MultiHeader, MultiOp, MultiResult } from '../../types.js';
import { JuteError, type JuteReader } from '../reader.js';
import type { JuteWriter } from '../writer.js';
import {
  decodeCreate,
  decodeCreate2,
  decodeCreateTTL,
  decodePathVersion,
  decodePathWatch,
  decodeSetData,
  decodeStat,
  encodeCreate,
  encodeCreate2,
  encodeGetData,
  encodePathVersion,
  encodePathWatch,
  encodeSetData,
  encodeStat,
} from './data.js';
import { unknownOp } from './shared.js';

// ---- header -------------------------------------------------------------------------------

export function encodeMultiHeader(w: JuteWriter, h: MultiHeader): void {
  writeMultiHeader(w, h.type, h.done, h.err);
}
/** The multi loops write headers field by field: no object per sub-op. */
function writeMultiHeader(w: JuteWriter, type: number, done: boolean, err: number): void {
  w.writeInt(type);
  w.writeBool(done);
  w.writeInt(err);
}
export function decodeMultiHeader(r: JuteReader): MultiHeader {
  const type = r.readInt();
  const done = r.readBool();
  return { type, done, err: r.readInt() };
}

// ---- multi requests -----------------------------------------------------------------------

const multiReadOps: ReadonlySet<number> = new Set([OpCode.getData, OpCode.getChildren]);
const multiWriteOps: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);

/** The err of a request sub-op's MultiHeader and of the done header: ZooKeeper writes -1, a
 *  placeholder rather than a KeeperException code. */
const multiHeaderErrUnused = -1;

/** MultiOperationRecord: (MultiHeader{op, false, -1} body)* MultiHeader{-1, true, -1}. */
export function encodeMulti(w: JuteWriter, ops: readonly MultiOp[]): void {
  for (const m of ops) {
    writeMultiHeader(w, m.op, false, multiHeaderErrUnused);
    encodeMultiOp(w, m);
  }
  writeMultiHeader(w, OpCode.error, true, multiHeaderErrUnused);
}

function encodeMultiOp(w: JuteWriter, m: MultiOp): void {
  switch (m.op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return encodeCreate(w, m.req);
    case OpCode.createTTL:
      encodeCreate(w, m.req);
      return w.writeLong(m.req.ttl);
    case OpCode.delete:
    case OpCode.check:
      return encodePathVersion(w, m.req);
    case OpCode.setData:
      return encodeSetData(w, m.req);
    case OpCode.getData:
    case OpCode.getChildren:
      return encodePathWatch(w, m.req);
  }
}

/** Reads sub-ops until the done header. Like MultiOperationRecord, rejects read and write ops
 *  mixed; also rejects ops of the wrong kind for the container (multi vs multiRead). */
export function decodeMulti(r: JuteReader, container: OpCodeOf<'multi' | 'multiRead'>): MultiOp[] {
  const allowed = container === OpCode.multi ? multiWriteOps : multiReadOps;
  const ops: MultiOp[] = [];
  for (;;) {
    const type = r.readInt();
    const done = r.readBool();
    r.readInt(); // err: meaningless in requests
    if (done) return ops;
    const m = decodeMultiOp(r, type);
    if (!allowed.has(type)) {
      throw new JuteError('ZKTS_ERR_JUTE_BAD_MULTI', `op ${type} not allowed in ${container}`);
    }
    ops.push(m);
  }
}

function decodeMultiOp(r: JuteReader, op: number): MultiOp {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { op, req: decodeCreate(r) };
    case OpCode.createTTL:
      return { op, req: decodeCreateTTL(r) };
    case OpCode.delete:
    case OpCode.check:
      return { op, req: decodePathVersion(r) };
    case OpCode.setData:
      return { op, req: decodeSetData(r) };
    case OpCode.getData:
    case OpCode.getChildren:
      return { op, req: decodePathWatch(r) };
    default:
      return unknownOp('multi op', op);
  }
}

// ---- multi responses ----------------------------------------------------------------------

/** MultiResponse: (MultiHeader{type, false, err} body)* MultiHeader{-1, true, -1}; an error
 *  result is type -1 with its code both in the header and in an ErrorResponse body. */
export function encodeMultiResults(w: JuteWriter, results: readonly MultiResult[]): void {
  for (const m of results) {
    writeMultiHeader(w, m.op, false, m.op === OpCode.error ? m.err : Err.ok);
    encodeMultiResult(w, m);
  }
  writeMultiHeader(w, OpCode.error, true, multiHeaderErrUnused);
}

function encodeMultiResult(w: JuteWriter, m: MultiResult): void {
  switch (m.op) {
    case OpCode.create:
      return w.writeString(m.path);
    case OpCode.create2:
      return encodeCreate2(w, m);
    case OpCode.delete:
    case OpCode.check:
      return;
    case OpCode.setData:
      return encodeStat(w, m.stat);
    case OpCode.getData:
      return encodeGetData(w, m.data, m.stat);
    case OpCode.getChildren:
      return w.writeStringVector(m.children);
    case OpCode.error:
      return w.writeInt(m.err);
  }
}

export function decodeMultiResults(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = [];
  for (;;) {
    const type = r.readInt();
    const done = r.readBool();
    r.readInt(); // err: ErrorResponse repeats it, and MultiResponse reads it from there
    if (done) return results;
    results.push(decodeMultiResult(r, type));
  }
}

function decodeMultiResult(r: JuteReader, op: number): MultiResult {
  switch (op) {
    case OpCode.create:
      return { op, path: r.readString() };
    case OpCode.create2: {
      const c = decodeCreate2(r);
      return { op, path: c.path, stat: c.stat };
    }
    case OpCode.delete:
    case OpCode.check:
      return { op };
    case OpCode.setData:
      return { op, stat: decodeStat(r) };
    case OpCode.getData: {
      const data = r.readData();
      return { op, data, stat: decodeStat(r) };
    }
    case OpCode.getChildren:
      return { op, children: r.readStringVector() };
    case OpCode.error:
      return { op, err: r.readInt() };
    default:
      return unknownOp('multi result', op);
  }
}
