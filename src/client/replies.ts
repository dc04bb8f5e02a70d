// Reply decoding: one table entry per opcode (by its OpCode name) that turns a reply body, or a
// reply's error code, into the request's result or rejection, registering the watch the request
// asked for. A reply costs the result and nothing else: no closures, one shared JuteReader.

import { Err, OpCode, WatchKind } from '../common/zk.js';
import { JuteReader, decodeACLs, decodeResponse, decodeStat } from '../protocol/jute/index.js';
import type { MultiResult } from '../protocol/types.js';
import { ZkError } from './errors.js';
import { frameBytesUnbounded } from './limits.js';
import { stripChroot } from './hosts.js';
import { fromMultiResults, type Op } from './ops.js';
import type { RemoveArg, Request } from './queue.js';
import type { ClientWatches } from './watches.js';

/** What a reply is decoded against: the client's chroot and its watches. */
export interface ReplyContext {
  readonly chroot: string;
  readonly watches: ClientWatches;
}

interface ReplyHandler {
  /** A reply with err 0: decodes the body and settles the request. */
  readonly ok: (req: Request, r: JuteReader, ctx: ReplyContext) => void;
  /** A reply with err != 0 (no body). */
  readonly error: (req: Request, err: number, ctx: ReplyContext) => void;
}

/** One reader decodes every client's replies: a frame is decoded start to end synchronously, so
 *  two clients never use it at the same time. */
export const READER = new JuteReader(undefined, { bufferBytesMax: frameBytesUnbounded, bufferViews: true });

function copyData(view: Uint8Array | null): Buffer | null {
  if (view === null) return null;
  const b = Buffer.allocUnsafe(view.byteLength);
  b.set(view);
  return b;
}

function registerWatch(req: Request, ctx: ReplyContext): void {
  if (req.watcher !== null) ctx.watches.register(req.watchKind, req.path, req.watcher);
}

function reject(req: Request, err: number): void {
  req.reject(new ZkError(err, req.path === '' ? undefined : req.path));
}

function resolveNothing(req: Request): void {
  req.resolve(undefined);
}

function resolveStat(req: Request, r: JuteReader): void {
  req.resolve(decodeStat(r));
}

function resolvePath(req: Request, r: JuteReader, ctx: ReplyContext): void {
  req.resolve(stripChroot(ctx.chroot, r.readString()));
}

/** create2 / createContainer / createTTL: the path, and the Stat when create2() asked for it. */
function resolveCreated(req: Request, r: JuteReader, ctx: ReplyContext): void {
  const path = stripChroot(ctx.chroot, r.readString());
  if (req.arg === true) req.resolve({ path, stat: decodeStat(r) });
  else req.resolve(path);
}

function resolveMulti(req: Request, r: JuteReader, ctx: ReplyContext): void {
  const res = decodeResponse(req.op, r);
  const results = fromMultiResults((res.res as MultiResult[] | null) ?? [], (p) => stripChroot(ctx.chroot, p));
  if (req.op === OpCode.multi) {
    const i = results.findIndex((x) => x.type === 'error' && x.code !== Err.ok);
    const failed = results[i];
    if (failed !== undefined && failed.type === 'error') {
      const path = (req.arg as readonly Op[])[i]?.path;
      const message = path === undefined ? undefined : `${failed.codeName} (${failed.code}) for ${path} (multi op ${i})`;
      req.reject(new ZkError(failed.code, path, { message, results }));
      return;
    }
  }
  req.resolve(results);
}

/** checkWatches / removeWatches: the server's answer, then (for a removal) the local one. */
function settleRemove(req: Request, err: number, ctx: ReplyContext): void {
  const arg = req.arg as RemoveArg;
  if (!arg.remove) {
    if (err === Err.ok) req.resolve(undefined);
    else req.reject(new ZkError(err, req.path));
    return;
  }
  if (err !== Err.ok && !arg.local) {
    req.reject(new ZkError(err, req.path));
    return;
  }
  if (!ctx.watches.removeLocally(req.path, arg.watcher, arg.type)) {
    req.reject(new ZkError(Err.noWatcher, req.path));
    return;
  }
  req.resolve(undefined);
}

const plain: ReplyHandler = { ok: resolveNothing, error: reject };
const created: ReplyHandler = { ok: resolveCreated, error: reject };
const stat: ReplyHandler = { ok: resolveStat, error: reject };
const multi: ReplyHandler = { ok: resolveMulti, error: reject };
const removal: ReplyHandler = { ok: (req, _r, ctx) => settleRemove(req, Err.ok, ctx), error: settleRemove };
/** ClientCnxn ignores a failed SetWatches too; the watches stay registered here. */
const setWatches: ReplyHandler = { ok: resolveNothing, error: () => undefined };

const byName: { readonly [K in keyof typeof OpCode]?: ReplyHandler } = {
  create: { ok: resolvePath, error: reject },
  delete: plain,
  exists: {
    ok(req, r, ctx) {
      const s = decodeStat(r);
      registerWatch(req, ctx);
      req.resolve(s);
    },
    error(req, err, ctx) {
      if (err !== Err.noNode) return reject(req, err);
      if (req.watcher !== null) ctx.watches.register(WatchKind.exist, req.path, req.watcher);
      req.resolve(null);
    },
  },
  getData: {
    ok(req, r, ctx) {
      const data = copyData(r.readBuffer());
      const s = decodeStat(r);
      registerWatch(req, ctx);
      req.resolve({ data, stat: s });
    },
    error: reject,
  },
  setData: stat,
  getACL: {
    ok(req, r) {
      const acl = decodeACLs(r);
      req.resolve({ acl, stat: decodeStat(r) });
    },
    error: reject,
  },
  setACL: stat,
  getChildren: {
    ok(req, r, ctx) {
      const children = r.readStringVector();
      registerWatch(req, ctx);
      req.resolve(children);
    },
    error: reject,
  },
  sync: { ok: resolvePath, error: reject },
  getChildren2: {
    ok(req, r, ctx) {
      const children = r.readStringVector();
      const s = decodeStat(r);
      registerWatch(req, ctx);
      req.resolve({ children, stat: s });
    },
    error: reject,
  },
  multi,
  create2: created,
  checkWatches: removal,
  removeWatches: removal,
  createContainer: created,
  createTTL: created,
  multiRead: multi,
  setWatches,
  getEphemerals: {
    ok(req, r, ctx) {
      req.resolve(r.readStringVector().map((p) => stripChroot(ctx.chroot, p)));
    },
    error: reject,
  },
  getAllChildrenNumber: {
    ok(req, r) {
      req.resolve(r.readInt());
    },
    error: reject,
  },
  setWatches2: setWatches,
  addWatch: {
    ok(req, _r, ctx) {
      registerWatch(req, ctx);
      req.resolve(undefined);
    },
    error: reject,
  },
  whoAmI: {
    ok(req, r) {
      const res = decodeResponse(OpCode.whoAmI, r);
      req.resolve(res.op === OpCode.whoAmI ? res.res.clientInfo : []);
    },
    error: reject,
  },
  closeSession: plain,
};

/** The table by opcode number, as replies look it up. */
const handlers = new Map<number, ReplyHandler>(
  Object.entries(byName).map(([name, h]) => [OpCode[name as keyof typeof OpCode], h as ReplyHandler]),
);

/** Settles `req` with its reply: err 0 and the body in `r`, or the error code. */
export function settle(req: Request, err: number, r: JuteReader, ctx: ReplyContext): void {
  const h = handlers.get(req.op) ?? plain;
  if (err !== Err.ok) h.error(req, err, ctx);
  else h.ok(req, r, ctx);
}
