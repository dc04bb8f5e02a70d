// Helpers for the storage tests: temp data dirs, a seeded PRNG, fs facades that count or fail,
// a small pipeline driver (prepare -> append -> flush -> apply, as Core does) and a random
// workload that exercises every txn type a snapshot and a replay must get right.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAclUnsafe, type ACL } from '../../../../src/common/acl.js';
import { OpCode } from '../../../../src/common/zk.js';
import type { ClientRequest, Txn, TxnHeader } from '../../../../src/protocol/types.js';
import { ZkDatabase, type WriteRequest } from '../../../../src/main/pipeline/database.js';
import type { PreparedTxn } from '../../../../src/main/pipeline/prep.js';
import type { RequestContext } from '../../../../src/main/pipeline/context.js';
import type { LogStage } from '../../../../src/main/pipeline/log-stage.js';
import { nodeLogFs, type LogFs } from '../../../../src/main/storage/log-fs.js';
import type { StorageLogger } from '../../../../src/main/storage/errors.js';
import { mulberry32 } from '../../../harness/prng.js';

export { mulberry32 };

export function tempDir(prefix = 'zkts-storage-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}


export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A logger that remembers what it was told (tests assert on warnings). */
export class MemoryLogger implements StorageLogger {
  readonly lines: { level: string; msg: string; obj: object }[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, obj });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', msg, obj });
  }
  find(level: string, text: string): { level: string; msg: string; obj: object } | undefined {
    return this.lines.find((l) => l.level === level && l.msg.includes(text));
  }
}

export interface FsCounts {
  open: number;
  write: number;
  fdatasync: number;
  fsync: number;
  ftruncate: number;
  close: number;
}

/** node:fs, counting each call. */
export function countingFs(base: LogFs = nodeLogFs): { fs: LogFs; counts: FsCounts } {
  const counts: FsCounts = { open: 0, write: 0, fdatasync: 0, fsync: 0, ftruncate: 0, close: 0 };
  const fs: LogFs = {
    open: (p, f, cb) => (counts.open++, base.open(p, f, cb)),
    write: (fd, b, o, l, pos, cb) => (counts.write++, base.write(fd, b, o, l, pos, cb)),
    fdatasync: (fd, cb) => (counts.fdatasync++, base.fdatasync(fd, cb)),
    fsync: (fd, cb) => (counts.fsync++, base.fsync(fd, cb)),
    ftruncate: (fd, n, cb) => (counts.ftruncate++, base.ftruncate(fd, n, cb)),
    close: (fd, cb) => (counts.close++, base.close(fd, cb)),
  };
  return { fs, counts };
}

function errnoError(code: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected`);
  e.code = code;
  return e;
}

/** node:fs whose `op` fails with `code` from its (skip + 1)-th call on. */
export function failingFs(op: 'write' | 'fdatasync', code: string, skip = 0): LogFs {
  let calls = 0;
  return {
    ...nodeLogFs,
    write: (fd, b, o, l, pos, cb) => {
      if (op === 'write' && calls++ >= skip) return setImmediate(() => cb(errnoError(code), 0));
      nodeLogFs.write(fd, b, o, l, pos, cb);
    },
    fdatasync: (fd, cb) => {
      if (op === 'fdatasync' && calls++ >= skip) return setImmediate(() => cb(errnoError(code)));
      nodeLogFs.fdatasync(fd, cb);
    },
  };
}

/** A session's request context. */
export function ctxOf(sessionId: bigint, cxid = 1): RequestContext {
  return {
    sessionId,
    cxid,
    authIds: [{ scheme: 'ip', id: '127.0.0.1' }],
    isLocalSession: false,
  };
}

export function newDb(): ZkDatabase {
  return new ZkDatabase({ extendedTypesEnabled: true });
}

/** A bare txn (no tree needed): for log-only tests. */
export function txnAt(
  zxid: number,
  path = `/n${zxid}`,
  data: Uint8Array | null = null,
): PreparedTxn {
  const time = 1_700_000_000_000 + zxid;
  const hdr: TxnHeader = { clientId: 0x1234n, cxid: zxid, zxid, time, type: 1 };
  const acl = [...openAclUnsafe];
  const txn: Txn = { type: 1, path, data, acl, ephemeral: false, parentCVersion: -1 };
  return { hdr, txn };
}

/**
 * What Core does with a LogStage, minus the sockets: prepare each write against the database,
 * append it, flush, and apply the batch once the flush reports it durable.
 */
export class MiniPipeline {
  private clock = 1_700_000_000_000;
  readonly acknowledged: number[] = [];
  private appliedWaiters: (() => void)[] = [];

  constructor(
    readonly db: ZkDatabase,
    readonly log: LogStage<PreparedTxn>,
  ) {}

  /** Resolves once the next batch of writes has been applied (a snapshot test yields to it
   *  between slices, so that writes interleave with the walk whatever the disk's speed). */
  nextApplied(): Promise<void> {
    return new Promise((resolve) => this.appliedWaiters.push(resolve));
  }

  /** Prepares and logs `requests`; resolves once they are durable and applied. */
  write(session: bigint, requests: WriteRequest[]): Promise<void> {
    const prepared = requests.map((r, i) =>
      this.db.prepare(ctxOf(session, i + 1), r, ++this.clock),
    );
    for (const p of prepared) this.log.append(p);
    return new Promise((resolve) => {
      this.log.flush(() => {
        for (const p of prepared) {
          this.db.apply(p);
          this.acknowledged.push(p.hdr.zxid);
        }
        const waiters = this.appliedWaiters;
        this.appliedWaiters = [];
        for (const w of waiters) w();
        resolve();
      });
    });
  }
}

const aclChoices: ACL[][] = [
  [...openAclUnsafe],
  [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.1' } }],
  [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }],
];

/**
 * A random write mix over a bounded namespace: creates (persistent, sequential, ephemeral,
 * container), deletes, setData, setACL (sometimes with a brand-new ACL list, so the ACL table
 * changes during a snapshot), multi, and session create / close.
 */
export class Workload {
  private readonly sessions: bigint[] = [];
  private nextSession = 0x1000n;
  private aclSerial = 0;

  constructor(private readonly random: () => number) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  /** Mostly shallow paths, so that most creates find their parent. */
  private path(): string {
    const r = this.random();
    const depth = r < 0.45 ? 1 : r < 0.85 ? 2 : 3;
    let p = '';
    for (let i = 0; i < depth; i++) p += `/d${Math.floor(this.random() * 5)}`;
    return p;
  }

  /** The next batch: a session and its requests. */
  next(): { session: bigint; requests: WriteRequest[] } {
    const roll = this.random();
    if (roll < 0.03 || this.sessions.length === 0) {
      const id = this.nextSession++;
      this.sessions.push(id);
      return { session: id, requests: [{ op: OpCode.createSession, req: null, timeOut: 30_000 }] };
    }
    const session = this.pick(this.sessions);
    if (roll < 0.05 && this.sessions.length > 2) {
      this.sessions.splice(this.sessions.indexOf(session), 1);
      return { session, requests: [{ op: OpCode.closeSession, req: null }] };
    }
    const n = 1 + Math.floor(this.random() * 4);
    const requests: WriteRequest[] = [];
    for (let i = 0; i < n; i++) requests.push(this.request());
    return { session, requests };
  }

  private request(): ClientRequest {
    const roll = this.random();
    const path = this.path();
    const data = bytes(`v${Math.floor(this.random() * 1000)}`);
    if (roll < 0.35) {
      const flags = this.pick([0, 0, 2, 1, 4]);
      const op = flags === 4 ? OpCode.createContainer : OpCode.create;
      return { op, req: { path, data, acl: [...this.pick(aclChoices)], flags } };
    }
    if (roll < 0.5) return { op: OpCode.delete, req: { path, version: -1 } };
    if (roll < 0.75) return { op: OpCode.setData, req: { path, data, version: -1 } };
    if (roll < 0.85) return { op: OpCode.setACL, req: { path, acl: this.freshAcl(), version: -1 } };
    return {
      op: OpCode.multi,
      req: [
        { op: 1, req: { path: `${path}/m`, data, acl: [...openAclUnsafe], flags: 0 } },
        { op: 5, req: { path, data, version: -1 } },
      ],
    };
  }

  private freshAcl(): ACL[] {
    if (this.random() < 0.5) return [...this.pick(aclChoices)];
    // A new list: a new ACL id in the tree's cache.
    return [{ perms: 31, id: { scheme: 'ip', id: `10.0.${this.aclSerial++ % 250}.1` } }];
  }
}

/** Every node as comparable text: path, data, stat and ACL. */
export function treeDump(db: ZkDatabase): string[] {
  const out: string[] = [];
  db.tree.forEachNode((path, n) => {
    const data = n.data === null ? 'null' : Buffer.from(n.data).toString('hex');
    const acl = n.acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).join(',');
    out.push(
      `${path} ${data} ${n.czxid} ${n.mzxid} ${n.ctime} ${n.mtime} ${n.version} ${n.cversion} ` +
        `${n.aversion} ${n.ephemeralOwner} ${n.pzxid} ${acl} ${n.childCount}`,
    );
  });
  return out.sort();
}
