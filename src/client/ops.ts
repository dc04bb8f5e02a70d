// Client-side request arguments and results: data, create options, multi / multiRead ops and
// their results, and the transaction builder. Conversion to the codec's records (src/protocol)
// happens here, with the chroot prefixed and validated.

import { isValidPath, isValidSequentialPath } from '../common/path.js';
import { CreateMode, EphemeralOwner, Err, OpCode, Perms, errName, isSequential, isTTL } from '../common/zk.js';
import type { ACL, MultiOp, MultiResult, Stat } from '../protocol/types.js';
import { ZkError } from './errors.js';
import { serverPath } from './hosts.js';

/** znode data as the API takes it: bytes, a string (written as UTF-8), or null. */
export type Data = Uint8Array | string | null;

export interface CreateOptions {
  /** CreateMode (default persistent). */
  mode?: number;
  /** Default: world:anyone with every permission (OPEN_ACL_UNSAFE). */
  acl?: readonly ACL[];
  /** Milliseconds; required by (and only allowed with) the TTL modes. */
  ttl?: number;
}

/** ZooDefs.Ids' ACLs. */
export const Acls = {
  /** world:anyone, all permissions */
  openUnsafe: [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }] as readonly ACL[],
  /** every permission for the creator's authenticated ids (needs addAuth first) */
  creatorAll: [{ perms: Perms.all, id: { scheme: 'auth', id: '' } }] as readonly ACL[],
  /** world:anyone may read */
  readUnsafe: [{ perms: Perms.read, id: { scheme: 'world', id: 'anyone' } }] as readonly ACL[],
} as const;

/** A write op of multi(). Build them with Ops.* or by hand. */
export type Op =
  | {
      readonly type: 'create';
      readonly path: string;
      readonly data?: Data;
      readonly mode?: number;
      readonly acl?: readonly ACL[];
      readonly ttl?: number;
      /** ask for the created node's Stat in the result (create2) */
      readonly stat?: boolean;
    }
  | { readonly type: 'delete'; readonly path: string; readonly version?: number }
  | { readonly type: 'setData'; readonly path: string; readonly data: Data; readonly version?: number }
  | { readonly type: 'check'; readonly path: string; readonly version?: number };

/** A read op of multiRead(). */
export type ReadOp =
  | { readonly type: 'getData'; readonly path: string }
  | { readonly type: 'getChildren'; readonly path: string };

/** One result of multi() / multiRead(); paths have the chroot taken off. */
export type OpResult =
  | { readonly type: 'create'; readonly path: string; readonly stat: Stat | null }
  | { readonly type: 'delete' }
  | { readonly type: 'setData'; readonly stat: Stat }
  | { readonly type: 'check' }
  | { readonly type: 'getData'; readonly data: Buffer | null; readonly stat: Stat }
  | { readonly type: 'getChildren'; readonly children: string[] }
  /** a failed op (code != 0), or, in a failed multi, an op that did not fail itself (code 0
   *  before the failed one, runtimeInconsistency after it) */
  | { readonly type: 'error'; readonly code: number; readonly codeName: string };

/** Op builders. */
export const Ops = {
  create(path: string, data: Data = EMPTY, options: CreateOptions & { stat?: boolean } = {}): Op {
    return { type: 'create', path, data, ...options };
  },
  delete(path: string, version = -1): Op {
    return { type: 'delete', path, version };
  },
  setData(path: string, data: Data, version = -1): Op {
    return { type: 'setData', path, data, version };
  },
  check(path: string, version = -1): Op {
    return { type: 'check', path, version };
  },
  getData(path: string): ReadOp {
    return { type: 'getData', path };
  },
  getChildren(path: string): ReadOp {
    return { type: 'getChildren', path };
  },
} as const;

const EMPTY = new Uint8Array(0);

export function toBytes(data: Data | undefined): Uint8Array | null {
  if (data === undefined) return EMPTY;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return data;
}

/** Validates a client path; throws ZkError(badArguments). */
export function checkPath(path: string, sequential = false): void {
  if (typeof path !== 'string' || !(sequential ? isValidSequentialPath(path) : isValidPath(path))) {
    throw new ZkError(Err.badArguments, String(path), { message: `badArguments (-8): invalid path '${String(path)}'` });
  }
}

/** The opcode a create of `mode` goes out as, and the validated TTL (-1 for none). */
export function createOpcode(path: string, options: CreateOptions, withStat: boolean): { op: number; ttl: number } {
  const mode = options.mode ?? CreateMode.persistent;
  if (!Number.isInteger(mode) || mode < CreateMode.persistent || mode > CreateMode.persistentSequentialWithTTL) {
    throw new ZkError(Err.badArguments, path, { message: `badArguments (-8): unknown create mode ${mode}` });
  }
  checkPath(path, isSequential(mode));
  if (isTTL(mode)) {
    const ttl = options.ttl;
    if (ttl === undefined || !Number.isInteger(ttl) || ttl <= 0 || ttl > EphemeralOwner.ttlMsMax) {
      throw new ZkError(Err.badArguments, path, { message: `badArguments (-8): TTL modes need 0 < ttl <= ${EphemeralOwner.ttlMsMax}` });
    }
    return { op: OpCode.createTTL, ttl };
  }
  if (options.ttl !== undefined) {
    throw new ZkError(Err.badArguments, path, { message: 'badArguments (-8): ttl given for a mode without TTL' });
  }
  if (mode === CreateMode.container) return { op: OpCode.createContainer, ttl: -1 };
  return { op: withStat ? OpCode.create2 : OpCode.create, ttl: -1 };
}

/** multi() ops as the codec's records, paths prefixed with `chroot`. Throws ZkError. */
export function toMultiOps(ops: readonly Op[], chroot: string): MultiOp[] {
  const out: MultiOp[] = [];
  for (const o of ops) {
    const path = serverPath(chroot, o.path);
    switch (o.type) {
      case 'create': {
        const acl = (o.acl ?? Acls.openUnsafe) as ACL[];
        const mode = o.mode ?? CreateMode.persistent;
        const opts: CreateOptions = { mode };
        if (o.ttl !== undefined) opts.ttl = o.ttl;
        const { op, ttl } = createOpcode(o.path, opts, o.stat === true);
        const req = { path, data: toBytes(o.data), acl, flags: mode };
        if (op === OpCode.createTTL) out.push({ op, req: { ...req, ttl } });
        else out.push({ op: op as typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer, req });
        break;
      }
      case 'delete':
        checkPath(o.path);
        out.push({ op: OpCode.delete, req: { path, version: o.version ?? -1 } });
        break;
      case 'setData':
        checkPath(o.path);
        out.push({ op: OpCode.setData, req: { path, data: toBytes(o.data), version: o.version ?? -1 } });
        break;
      case 'check':
        checkPath(o.path);
        out.push({ op: OpCode.check, req: { path, version: o.version ?? -1 } });
        break;
      default:
        throw new ZkError(Err.badArguments, undefined, { message: `badArguments (-8): unknown multi op ${(o as { type: unknown }).type as string}` });
    }
  }
  return out;
}

export function toMultiReadOps(ops: readonly ReadOp[], chroot: string): MultiOp[] {
  const out: MultiOp[] = [];
  for (const o of ops) {
    checkPath(o.path);
    const path = serverPath(chroot, o.path);
    if (o.type === 'getData') out.push({ op: OpCode.getData, req: { path, watch: false } });
    else if (o.type === 'getChildren') out.push({ op: OpCode.getChildren, req: { path, watch: false } });
    else throw new ZkError(Err.badArguments, undefined, { message: `badArguments (-8): unknown multiRead op` });
  }
  return out;
}

export function fromMultiResults(results: readonly MultiResult[], strip: (p: string) => string): OpResult[] {
  const out: OpResult[] = [];
  for (const m of results) {
    switch (m.op) {
      case OpCode.create:
        out.push({ type: 'create', path: strip(m.path), stat: null });
        break;
      case OpCode.create2:
        out.push({ type: 'create', path: strip(m.path), stat: m.stat });
        break;
      case OpCode.delete:
        out.push({ type: 'delete' });
        break;
      case OpCode.setData:
        out.push({ type: 'setData', stat: m.stat });
        break;
      case OpCode.check:
        out.push({ type: 'check' });
        break;
      case OpCode.getData:
        out.push({ type: 'getData', data: m.data === null ? null : Buffer.from(m.data), stat: m.stat });
        break;
      case OpCode.getChildren:
        out.push({ type: 'getChildren', children: m.children });
        break;
      case OpCode.error:
        out.push({ type: 'error', code: m.err, codeName: errName(m.err) });
        break;
    }
  }
  return out;
}

/** Builds a multi(): `await client.transaction().create('/a').setData('/b', 'x').commit()`. */
export class Transaction {
  readonly ops: Op[] = [];

  constructor(private readonly run: (ops: readonly Op[]) => Promise<OpResult[]>) {}

  create(path: string, data: Data = EMPTY, options: CreateOptions & { stat?: boolean } = {}): this {
    this.ops.push(Ops.create(path, data, options));
    return this;
  }
  delete(path: string, version = -1): this {
    this.ops.push(Ops.delete(path, version));
    return this;
  }
  setData(path: string, data: Data, version = -1): this {
    this.ops.push(Ops.setData(path, data, version));
    return this;
  }
  check(path: string, version = -1): this {
    this.ops.push(Ops.check(path, version));
    return this;
  }
  commit(): Promise<OpResult[]> {
    return this.run(this.ops);
  }
}
