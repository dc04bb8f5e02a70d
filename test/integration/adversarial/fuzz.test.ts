// End-to-end fuzz of the client port (issue 9, "the client-side fuzz test grows to cover every
// request type"): a seeded stream of frames over raw TCP against a real server process.
//
// Every opcode of src/common/zk.ts OpCode (taken from the table, so a new one is covered without
// touching this file) and a set of unknown ones is sent with a valid body built per type, then
// with mutated ones (bit flips, truncation, extension, jute length fields set to -1 / huge /
// negative, other ints set to extremes, nested multi types swapped for any opcode); every type
// also appears nested in a multi and in a multiRead. Out-of-order traffic goes alongside:
// requests before the ConnectRequest, mutated and random ConnectRequests, a second
// ConnectRequest, frame lengths that are negative or over jute.maxbuffer, frames shorter than a
// RequestHeader, half frames dropped, batches written one byte at a time, and a session with
// requests in flight taken over by a second connection (with its password or a wrong one).
//
// What is asserted is ZooKeeper's contract, not one error code per request: every reply is a
// well-formed ReplyHeader with a KeeperException code for an xid that was sent and not yet
// answered, in the order requests go through the pipeline (only replies the server gives at
// once, ping / auth / sasl / an opcode it refuses, may overtake earlier pipelined ones); an ok
// reply's body parses as the response record of its type; a connection either answers what it
// was sent or closes, never stalls past a bounded wait. Throughout and after, a witness session
// reads and writes correctly, the process never exits, srvr answers, and (zkts) the server
// logged nothing at error or fatal level.
//
// The seed is printed; ZKTS_FUZZ_SEED=<n> replays a run (the frames sent depend on the seed
// only: each lane and the scenario list draw from their own generator, and a closed connection
// is replaced by a new session that goes on with the same plan). ZKTS_FUZZ_DEBUG=1 prints what
// was outstanding whenever the server closed a connection; ZKTS_FUZZ_ENSEMBLE=1 runs the same
// fuzz against a follower of a three-member zkts ensemble (the forwarding paths).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateMode, Err, OpCode, errName, opName } from '../../../src/common/zk.js';
import { mulberry32 } from '../../harness/prng.js';
import { JuteReader, JuteWriter, Op, RawConn, connectRequest, openSession, parseConnectResponse, parseReply, readStat, requestPacket } from '../harness/raw.js';
import { leaderOf } from '../harness/ensemble.js';
import { fourLetter, startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, isApache, suitePort, targetKind } from '../harness/target.js';

const DEFAULT_SEED = 0x5eed2026;
/** Concurrent fuzzing connections, each with its own plan. */
const LANES = 4;
/** Randomly drawn frames per lane, on top of the coverage items every run sends. */
const RANDOM_FRAMES_PER_LANE = 1500;
/** Out-of-order scenarios (each a few frames on its own connection). */
const SCENARIOS = 240;
/** Frames pipelined before the replies are collected. */
const BATCH_MAX = 8;
/** A batch written byte by byte sends this much that way, the rest in one write. */
const BYTEWISE_BYTES_MAX = 16384;
/** Bound on any wait for an answer or a close: a hang fails the test, a slow machine does not. */
const ANSWER_TIMEOUT_MS = 30000;
const SESSION_TIMEOUT_MS = 6000;
/** jute.maxbuffer's default: a frame length above it closes the connection. */
const JUTE_MAXBUFFER = 0xfffff;
/** Unknown opcodes: gaps in ZooDefs.OpCode, negative ones, the extremes. */
const UNKNOWN_OPS: readonly number[] = [10, 23, 99, 108, 1000, -2, -3, -12, 0x7fffffff, -0x80000000];
const ALL_OPS: readonly number[] = [...new Set<number>(Object.values(OpCode))];
/** Opcodes a server may answer at once (ZooKeeperServer.processPacket) or refuses
 *  (UnimplementedRequestProcessor): their reply may overtake earlier pipelined requests'. */
const ANSWERED_AT_ONCE = new Set<number>([OpCode.ping, OpCode.auth, OpCode.sasl, OpCode.error, OpCode.notification, OpCode.createSession]);
const MULTI_WRITE_OPS: readonly number[] = [
  OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete, OpCode.setData, OpCode.check,
];
const MULTI_READ_OPS: readonly number[] = [OpCode.getChildren, OpCode.getData];
const KNOWN_ERRS = new Set<number>(Object.values(Err));
/** Server log lines at error/fatal level this run may legitimately cause (none so far). */
const EXPECTED_ERROR_LOGS: readonly RegExp[] = [];

const seed = (() => {
  const raw = process.env['ZKTS_FUZZ_SEED'];
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`ZKTS_FUZZ_SEED must be an integer, not '${raw}'`);
  return n >>> 0;
})();

/** The server the fuzz talks to (in ensemble mode, a follower). */
let server: ServerHandle;
/** Every server started (the ensemble's members), for the exit and log checks. */
const servers: ServerHandle[] = [];
let port: number;
let witness: RawConn;
let witnessXid = 1;
let pinger: NodeJS.Timeout | undefined;
/** ZKTS_FUZZ_ENSEMBLE=1 (zkts only, not run by default): the same fuzz against a follower of a
 *  three-member ensemble, so that writes, sessions and closeSession take the forwarding path. */
const ensembleMode = process.env['ZKTS_FUZZ_ENSEMBLE'] === '1' && !isApache();

async function startEnsemble(): Promise<ServerHandle> {
  const ports = [2, 3, 4].map((i) => suitePort(SUITE_PORTS.advFuzz, i));
  const extra: Record<string, string> = { forceSync: 'no' };
  ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
  for (let i = 0; i < 3; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'zkts-adv-fuzz-'));
    writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
    servers.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 500, maxClientCnxns: 100, extra }));
  }
  const leader = await leaderOf(servers);
  return servers.find((m) => m !== leader)!;
}

before(async () => {
  console.log(`# client-port fuzz seed ${seed} (replay: ZKTS_FUZZ_SEED=${seed})${ensembleMode ? ', against a follower' : ''}`);
  if (ensembleMode) {
    server = await startEnsemble();
  } else {
    server = await startServer(targetKind(), { port: suitePort(SUITE_PORTS.advFuzz), tickTime: 500, maxClientCnxns: 100, extra: { forceSync: 'no' } });
    servers.push(server);
  }
  port = server.port;
  witness = (await openSession(port, 10000)).conn;
  pinger = setInterval(() => void witness.write(requestPacket(-2, Op.ping)), 1500);
  for (const p of ['/witness', '/fz', '/fz/a', '/fz/a/b', '/fz/e']) {
    const w = new JuteWriter().string(p).buffer(Buffer.from('init'));
    w.int(1).int(31).string('world').string('anyone').int(0);
    const r = await witness.call(witnessXid++, Op.create, w.bytes(), ANSWER_TIMEOUT_MS);
    assert.equal(r?.err, Err.ok, `create ${p}`);
  }
});

after(async () => {
  clearInterval(pinger);
  witness?.destroy();
  for (const m of servers) {
    const dataDir = m.dataDir;
    await m.stop();
    if (ensembleMode) rmSync(dataDir, { recursive: true, force: true });
  }
});

// ---- random choices ---------------------------------------------------------------------------

class Gen {
  private readonly next: () => number;
  constructor(s: number) {
    this.next = mulberry32(s);
  }
  /** 0..n-1 */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  int32(): number {
    return (this.int(0x10000) << 16) | this.int(0x10000);
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  // ---- field values: mostly sensible (so requests reach deep into the pipeline), some odd ----

  path(): string | Buffer | null {
    if (this.chance(0.3)) return `/fz/${this.pick(['', 'a/', 'e/'])}n${this.int(40)}`; // mostly fresh
    if (this.chance(0.75)) return this.pick(['/fz', '/fz/a', '/fz/a/b', '/fz/b', '/fz/c', '/fz/e', '/fz/e/x', '/fz/s-', '/fz/a/t']);
    return this.pick<string | Buffer | null>([
      '/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config', '/fz/', 'fz', '', null, '/fz//a', '/fz/./a',
      '/fz/../a', '/fz/\u0000x', '/fz/\ud800', '/fz/' + 'x'.repeat(300), '/nope/deeper', this.bytes(this.int(24)),
    ]);
  }
  data(): Buffer | null {
    if (this.chance(0.05)) return null;
    if (this.chance(0.002)) return this.bytes(100_000 + this.int(900_000)); // crosses the ring in pieces
    if (this.chance(0.03)) return this.bytes(1000 + this.int(3000));
    return this.bytes(this.int(40));
  }
  version(): number {
    return this.pick([-1, -1, -1, 0, 1, 2, -2, 0x7fffffff]);
  }
  createFlags(): number {
    return this.chance(0.9) ? this.int(7) : this.pick([7, 8, -1, 0x7fffffff, -0x80000000]);
  }
  acl(w: BodyWriter): void {
    if (this.chance(0.05)) {
      w.len(-1); // a null vector
      return;
    }
    if (this.chance(0.6)) {
      w.len(1).int(31).string('world').string('anyone');
      return;
    }
    const n = this.chance(0.9) ? 1 + this.int(3) : 0;
    w.len(n);
    for (let i = 0; i < n; i++) {
      const [scheme, id] = this.pick<[string, string]>([
        ['world', 'anyone'], ['world', 'anyone'], ['world', 'anyone'], ['auth', ''], ['ip', '127.0.0.1'],
        ['ip', '10.0.0.0/8'], ['ip', 'not-an-ip'], ['digest', 'u1:Ml8l0sVRaMnEUmfOPUhDOc8yLUo='], ['digest', 'nocolon'],
        ['sasl', 'x'], ['bogus', 'x'], ['world', 'someone'],
      ]);
      w.int(this.chance(0.85) ? 31 : this.pick([0, 1, 3, 32, 63, -1]));
      w.string(scheme).string(id);
    }
  }
  paths(w: BodyWriter): void {
    const n = this.chance(0.95) ? this.int(4) : 0;
    if (this.chance(0.03)) {
      w.len(-1);
      return;
    }
    w.len(n);
    for (let i = 0; i < n; i++) w.string(this.path());
  }
}

/**
 * A jute body writer that remembers where its length prefixes, other ints and nested multi op
 * types sit, so that mutations can hit them.
 */
class BodyWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;
  readonly lengths: number[] = [];
  readonly ints: number[] = [];
  readonly opTypes: number[] = [];

  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  int(n: number): this {
    this.ints.push(this.size);
    return this.push(int32(n));
  }
  len(n: number): this {
    this.lengths.push(this.size);
    return this.push(int32(n));
  }
  opType(n: number): this {
    this.opTypes.push(this.size);
    return this.push(int32(n));
  }
  long(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt.asIntN(64, n));
    return this.push(b);
  }
  bool(v: boolean): this {
    return this.push(Buffer.from([v ? 1 : 0]));
  }
  buffer(b: Buffer | null): this {
    if (b === null) return this.len(-1);
    this.len(b.length);
    return this.push(b);
  }
  string(s: string | Buffer | null): this {
    return this.buffer(s === null ? null : typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
  }
  raw(b: Buffer): this {
    return this.push(b);
  }
  /** Appends another body, keeping its field positions. */
  append(o: BodyWriter): this {
    const base = this.size;
    for (const x of o.lengths) this.lengths.push(base + x);
    for (const x of o.ints) this.ints.push(base + x);
    for (const x of o.opTypes) this.opTypes.push(base + x);
    return this.push(o.bytes());
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
}

// ---- bodies per request type ------------------------------------------------------------------

/** A body of the record ZooKeeper reads for `op` (ZooKeeper 3.8's zookeeper.jute). */
function validBody(g: Gen, op: number, depth = 0, nested?: number): BodyWriter {
  const w = new BodyWriter();
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      w.string(g.path()).buffer(g.data());
      g.acl(w);
      return w.int(op === OpCode.createContainer && g.chance(0.8) ? CreateMode.container : g.createFlags());
    case OpCode.createTTL:
      w.string(g.path()).buffer(g.data());
      g.acl(w);
      w.int(g.chance(0.85) ? g.pick([CreateMode.persistentWithTTL, CreateMode.persistentSequentialWithTTL]) : g.createFlags());
      return w.long(g.chance(0.85) ? BigInt(1 + g.int(60000)) : g.pick([0n, -1n, 1n << 40n, 1n << 62n, -(1n << 63n)]));
    case OpCode.delete:
    case OpCode.check:
      return w.string(g.path()).int(g.version());
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return w.string(g.path()).bool(g.chance(0.3));
    case OpCode.setData:
      return w.string(g.path()).buffer(g.data()).int(g.version());
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getEphemerals:
    case OpCode.getAllChildrenNumber:
    case OpCode.deleteContainer:
      return w.string(g.path());
    case OpCode.setACL:
      w.string(g.path());
      g.acl(w);
      return w.int(g.version());
    case OpCode.multi:
    case OpCode.multiRead: {
      const n = depth > 0 ? 0 : 1 + g.int(4);
      const at = nested === undefined ? -1 : g.int(n);
      for (let i = 0; i < n; i++) {
        const natural = op === OpCode.multi ? MULTI_WRITE_OPS : MULTI_READ_OPS;
        const type = i === at ? nested! : g.chance(0.85) ? g.pick(natural) : g.pick([...ALL_OPS, ...UNKNOWN_OPS]);
        w.opType(type).bool(false).int(-1).append(validBody(g, type, depth + 1));
      }
      return w.opType(-1).bool(true).int(-1);
    }
    case OpCode.reconfig:
      w.string(g.pick([null, '', 'server.5=127.0.0.1:23491:23492;23490', 'garbage']));
      w.string(g.pick([null, '', '1', '5']));
      w.string(g.pick([null, '', 'server.1=127.0.0.1:23481:23482;23480']));
      return w.long(g.pick([-1n, 0n, 0x100000000n]));
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return w.string(g.path()).int(g.chance(0.85) ? 1 + g.int(3) : g.pick([0, 4, 5, 6, -1, 0x7fffffff]));
    case OpCode.auth: {
      w.int(0);
      const scheme = g.chance(0.9) ? g.pick(['digest', 'digest', 'digest', 'ip']) : g.pick(['bogus', 'sasl', 'super', '', 'world']);
      w.string(scheme);
      return w.buffer(Buffer.from(g.pick(['u1:pw', 'u2:pw', 'u3:other', 'nocolon', ':', 'u1:', '127.0.0.1', '']), 'utf8'));
    }
    case OpCode.setWatches:
    case OpCode.setWatches2:
      w.long(g.pick([0n, 1n, 0x7fffffffn, 1n << 40n]));
      for (let i = 0; i < (op === OpCode.setWatches ? 3 : 5); i++) g.paths(w);
      return w;
    case OpCode.sasl:
      return w.buffer(g.chance(0.2) ? null : g.bytes(g.int(48)));
    case OpCode.addWatch:
      return w.string(g.path()).int(g.chance(0.85) ? g.int(2) : g.pick([2, -1, 0x7fffffff]));
    case OpCode.ping:
    case OpCode.whoAmI:
    case OpCode.closeSession:
      return w;
    case OpCode.createSession:
      // A ConnectRequest record, as a learner forwards one.
      return w.int(0).long(0n).int(SESSION_TIMEOUT_MS).long(0n).buffer(Buffer.alloc(16));
    default:
      // error, notification and unknown opcodes carry no record: a few random bytes.
      return w.raw(g.bytes(g.int(24)));
  }
}

const MUTATIONS = ['flip', 'truncate', 'extend', 'length', 'int', 'nestedType', 'empty', 'double'] as const;
type Mutation = (typeof MUTATIONS)[number];

/** A mutated copy of a body; names what was done. */
function mutate(g: Gen, w: BodyWriter, kind: Mutation = g.pick(MUTATIONS)): { body: Buffer; how: string } {
  const body = w.bytes();
  switch (kind) {
    case 'flip': {
      if (body.length === 0) return mutate(g, w, 'extend');
      const n = 1 + g.int(4);
      for (let i = 0; i < n; i++) {
        const k = g.int(body.length);
        body[k] = body[k]! ^ (1 << g.int(8));
      }
      return { body, how: `flip ${n} bits` };
    }
    case 'truncate': {
      if (body.length === 0) return mutate(g, w, 'extend');
      const at = g.int(body.length);
      return { body: body.subarray(0, at), how: `truncate to ${at} of ${body.length}` };
    }
    case 'extend': {
      const extra = g.chance(0.5) ? g.bytes(1 + g.int(16)) : int32(g.int32());
      return { body: Buffer.concat([body, extra]), how: `extend by ${extra.length}` };
    }
    case 'length': {
      if (w.lengths.length === 0) return mutate(g, w, 'flip');
      const at = g.pick(w.lengths);
      const v = g.pick([-1, -2, -0x80000000, 0x7fffffff, JUTE_MAXBUFFER + 1, JUTE_MAXBUFFER + 1025, body.length, 0x10000, 0, 1]);
      body.writeInt32BE(v, at);
      return { body, how: `length at ${at} = ${v}` };
    }
    case 'int': {
      if (w.ints.length === 0) return mutate(g, w, 'length');
      const at = g.pick(w.ints);
      const v = g.pick([-1, 0, 1, 7, 0x7fffffff, -0x80000000, g.int32()]);
      body.writeInt32BE(v, at);
      return { body, how: `int at ${at} = ${v}` };
    }
    case 'nestedType': {
      if (w.opTypes.length === 0) return mutate(g, w, 'int');
      const at = g.pick(w.opTypes);
      const v = g.pick([...ALL_OPS, ...UNKNOWN_OPS]);
      body.writeInt32BE(v, at);
      return { body, how: `nested type at ${at} = ${v}` };
    }
    case 'empty':
      return { body: Buffer.alloc(0), how: 'empty body' };
    case 'double': {
      const a = mutate(g, w, g.pick(['flip', 'length', 'int', 'nestedType']));
      const again = new BodyWriter().raw(a.body);
      const b = mutate(g, again, g.pick(['flip', 'truncate', 'extend']));
      return { body: b.body, how: `${a.how}, then ${b.how}` };
    }
  }
}

interface Planned {
  op: number;
  body: Buffer;
  /** null: the valid body */
  how: string | null;
}

function planned(g: Gen, op: number, mutated: boolean, nested?: number): Planned {
  const w = validBody(g, op, 0, nested);
  if (!mutated) return { op, body: w.bytes(), how: null };
  const m = mutate(g, w);
  return { op, body: m.body, how: m.how };
}

/** Draw weights: pipelined requests most, the ones that end a connection least. */
function drawOp(g: Gen): number {
  const r = g.int(100);
  if (r < 3) return g.pick([OpCode.error, OpCode.notification, OpCode.createSession, OpCode.closeSession]);
  if (r < 5) return g.pick(UNKNOWN_OPS);
  if (r < 12) return g.pick([OpCode.ping, OpCode.auth, OpCode.sasl]);
  if (r < 22) return g.pick([OpCode.multi, OpCode.multiRead]);
  const rest = ALL_OPS.filter((op) => !ANSWERED_AT_ONCE.has(op) && op !== OpCode.closeSession);
  return g.pick(rest);
}

/**
 * The lanes' plans: every opcode (known and unknown) with a valid body and with two mutated
 * ones, every type nested in a multi and in a multiRead (valid and mutated), then random draws;
 * shuffled and dealt to the lanes.
 */
function makePlans(): Planned[][] {
  const g = new Gen(seed);
  const items: Planned[] = [];
  for (const op of [...ALL_OPS, ...UNKNOWN_OPS]) {
    items.push(planned(g, op, false), planned(g, op, true), planned(g, op, true));
    items.push(planned(g, OpCode.multi, false, op), planned(g, OpCode.multiRead, false, op));
    items.push(planned(g, g.pick([OpCode.multi, OpCode.multiRead]), true, op));
  }
  for (let i = 0; i < LANES * RANDOM_FRAMES_PER_LANE; i++) items.push(planned(g, drawOp(g), g.chance(0.5)));
  g.shuffle(items);
  const plans: Planned[][] = Array.from({ length: LANES }, () => []);
  items.forEach((p, i) => plans[i % LANES]!.push(p));
  return plans;
}

// ---- what comes back --------------------------------------------------------------------------

const stats = {
  frames: 0,
  replies: 0,
  errorReplies: 0,
  notifications: 0,
  closes: 0,
  sessions: 0,
  scenarios: new Map<string, number>(),
  bytewiseBatches: 0,
  /** the slowest witness round (a setData and a getData), for the report; not asserted */
  witnessMaxMs: 0,
  sentByOp: new Map<number, number>(),
  okByOp: new Map<number, number>(),
};

function count<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function describeFrame(op: number, how: string | null, body: Buffer): string {
  const whole = body.length <= 96 || process.env['ZKTS_FUZZ_DEBUG'] === '1';
  const hex = whole ? body.toString('hex') : `${body.subarray(0, 96).toString('hex')}... (${body.length} bytes)`;
  return `${opName(op)} (${op}) ${how ?? 'valid'} body ${hex}`;
}

/** Null if `body` is the response record of an ok reply to `op`, else what is wrong. */
function checkOkBody(op: number, body: Buffer): string | null {
  const r = new JuteReader(body);
  const strings = (): void => {
    const n = r.int();
    for (let i = 0; i < n; i++) r.string();
  };
  try {
    switch (op) {
      case OpCode.exists:
      case OpCode.setData:
      case OpCode.setACL:
        readStat(r);
        break;
      case OpCode.getData:
        r.buffer();
        readStat(r);
        break;
      case OpCode.getChildren:
      case OpCode.getEphemerals:
        strings();
        break;
      case OpCode.getChildren2:
        strings();
        readStat(r);
        break;
      case OpCode.create:
      case OpCode.sync:
        r.string();
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        r.string();
        readStat(r);
        break;
      case OpCode.getACL: {
        const n = r.int();
        for (let i = 0; i < n; i++) {
          r.int();
          r.string();
          r.string();
        }
        readStat(r);
        break;
      }
      case OpCode.getAllChildrenNumber:
        r.int();
        break;
      case OpCode.whoAmI: {
        const n = r.int();
        for (let i = 0; i < n; i++) {
          r.string();
          r.string();
        }
        break;
      }
      case OpCode.multi:
      case OpCode.multiRead:
        for (;;) {
          const type = r.int();
          const done = r.bool();
          r.int();
          if (done) break;
          if (type === -1) r.int();
          else if (type === OpCode.create) r.string();
          else if (type === OpCode.create2 || type === OpCode.createContainer || type === OpCode.createTTL) {
            r.string();
            readStat(r);
          } else if (type === OpCode.setData) readStat(r);
          else if (type === OpCode.getData) {
            r.buffer();
            readStat(r);
          } else if (type === OpCode.getChildren) strings();
          else if (type !== OpCode.delete && type !== OpCode.check) return `multi result of type ${type}`;
        }
        break;
      case OpCode.delete:
        break;
      default:
        return null; // not checked: bodies of no fixed shape here
    }
  } catch (e) {
    return (e as Error).message;
  }
  return r.remaining === 0 ? null : `${r.remaining} bytes after the ${opName(op)} response`;
}

/** Checks a frame from the server: a ReplyHeader with a KeeperException code, or a
 *  notification (xid -1, unless the client itself sent xid -1: see `sentXids`). */
function assertWellFormedReply(f: Buffer, context: () => string, sentXids?: ReadonlySet<number>): ReturnType<typeof parseReply> {
  assert.ok(f.length >= 16, `a reply frame of ${f.length} bytes, shorter than a ReplyHeader; ${context()}`);
  const r = parseReply(f);
  if (r.xid === -1 && sentXids?.has(-1) !== true) {
    let rest = -1;
    try {
      const e = new JuteReader(r.body);
      e.int();
      e.int();
      e.string();
      rest = e.remaining;
    } catch (err) {
      assert.fail(`a notification that is no WatcherEvent (${(err as Error).message}): ${f.toString('hex')}; ${context()}`);
    }
    assert.equal(rest, 0, `a notification with trailing bytes: ${f.toString('hex')}; ${context()}`);
    return r;
  }
  assert.ok(KNOWN_ERRS.has(r.err), `reply err ${r.err} is no KeeperException code; ${context()}`);
  return r;
}

interface Sent {
  xid: number;
  op: number;
  how: string | null;
  body: Buffer;
}

/** A new session, with a bound as generous as every other wait here (the harness's is 5 s). */
async function newSession(): Promise<RawConn> {
  const conn = await RawConn.open(port, '127.0.0.1', ANSWER_TIMEOUT_MS);
  const resp = await conn.handshake({ timeOut: SESSION_TIMEOUT_MS, readOnly: false }, ANSWER_TIMEOUT_MS);
  if (resp === null || resp.timeOut <= 0) {
    conn.destroy();
    assert.fail(`a plain handshake was refused (seed ${seed})`);
  }
  return conn;
}

/**
 * One fuzzing connection: sends batches, checks every reply against what is outstanding, and
 * replaces a connection the server closed with a new session.
 */
class Lane {
  private conn: RawConn | null = null;
  private xid = 1;
  private pending: Sent[] = [];

  constructor(readonly name: string, readonly g: Gen) {}

  async run(plan: readonly Planned[]): Promise<void> {
    let i = 0;
    let batches = 0;
    while (i < plan.length) {
      const n = 1 + this.g.int(BATCH_MAX);
      const bytewise = this.g.chance(0.03);
      await this.batch(plan.slice(i, i + n), bytewise);
      i += n;
      if (++batches % 25 === 0) assert.ok(servers.every((m) => !m.exited), 'a server process exited');
    }
    this.conn?.destroy();
  }

  private async session(): Promise<RawConn> {
    if (this.conn !== null && !this.conn.closed) return this.conn;
    // xids go on counting across sessions; nothing here draws from the generator, so the
    // frames sent do not depend on when the server closed a connection.
    this.conn = await newSession();
    stats.sessions++;
    return this.conn;
  }

  private async batch(frames: readonly Planned[], bytewise: boolean): Promise<void> {
    const conn = await this.session();
    const out: Buffer[] = [];
    for (const p of frames) {
      const xid = this.xid++;
      this.pending.push({ xid, op: p.op, how: p.how, body: p.body });
      out.push(requestPacket(xid, p.op, p.body));
      stats.frames++;
      count(stats.sentByOp, p.op);
    }
    const bytes = Buffer.concat(out);
    if (bytewise) {
      // The first bytewiseBytesMax bytes one write each, the rest at once. Yielding to the event
      // loop now and then: write callbacks that complete at once would otherwise keep this
      // process from reading anything else (the other lanes' replies, the witness's) meanwhile.
      stats.bytewiseBatches++;
      const split = Math.min(bytes.length, BYTEWISE_BYTES_MAX);
      for (let k = 0; k < split && !conn.closed; k++) {
        await conn.write(bytes.subarray(k, k + 1));
        if (k % 64 === 63) await new Promise((r) => setImmediate(r));
      }
      if (split < bytes.length && !conn.closed) await conn.write(bytes.subarray(split));
    } else {
      await conn.write(bytes);
    }
    await this.drain(conn);
  }

  private context(): string {
    const list = this.pending.map((s) => `  xid ${s.xid}: ${describeFrame(s.op, s.how, s.body)}`).join('\n');
    return `${this.name}, seed ${seed}, outstanding:\n${list}`;
  }

  /** Reads until every outstanding request is answered or the connection is closed. */
  private async drain(conn: RawConn): Promise<void> {
    while (this.pending.length > 0) {
      let f: Buffer | null;
      try {
        f = await conn.nextFrame(ANSWER_TIMEOUT_MS);
      } catch {
        assert.fail(`no answer and no close within ${ANSWER_TIMEOUT_MS} ms; ${this.context()}`);
      }
      if (f === null) {
        if (process.env['ZKTS_FUZZ_DEBUG'] === '1') console.log(`# closed: ${this.context()}`);
        stats.closes++;
        this.pending = [];
        return;
      }
      const r = assertWellFormedReply(f, () => this.context());
      if (r.xid === -1) {
        stats.notifications++;
        continue;
      }
      const at = r.xid === -2 ? this.pending.findIndex((s) => s.op === OpCode.ping) : this.pending.findIndex((s) => s.xid === r.xid);
      assert.ok(at >= 0, `a reply for xid ${r.xid} (err ${errName(r.err)}) that is not outstanding; ${this.context()}`);
      const s = this.pending[at]!;
      if (at > 0) {
        // Overtaking is only for replies given at once, and only over pipelined requests.
        const overtaken = this.pending.slice(0, at);
        const ok = !isPipelined(s.op) && overtaken.every((o) => isPipelined(o.op));
        assert.ok(ok, `reply xid ${r.xid} (${opName(s.op)}) overtook ${overtaken.map((o) => `${o.xid} (${opName(o.op)})`).join(', ')}; ${this.context()}`);
      }
      this.pending.splice(at, 1);
      stats.replies++;
      if (r.err !== Err.ok) {
        stats.errorReplies++;
      } else {
        count(stats.okByOp, s.op);
        const bad = checkOkBody(s.op, r.body);
        assert.equal(bad, null, `ok reply to xid ${s.xid} ${describeFrame(s.op, s.how, s.body)}: ${bad}; reply ${r.body.toString('hex')}`);
      }
    }
  }
}

function isPipelined(op: number): boolean {
  return !ANSWERED_AT_ONCE.has(op) && ALL_OPS.includes(op);
}

// ---- out-of-order traffic ---------------------------------------------------------------------

function framed(body: Buffer): Buffer {
  return Buffer.concat([int32(body.length), body]);
}

function connectBody(g: Gen): BodyWriter {
  const w = new BodyWriter().int(0).long(0n).int(SESSION_TIMEOUT_MS).long(0n).buffer(Buffer.alloc(16));
  if (g.chance(0.7)) w.bool(g.chance(0.5));
  return w;
}

const PROBE_XID = 0x7ffffff0;

/**
 * After an odd frame on an established connection: sends exists /witness and reads until its
 * answer (ok) or a close. Any other reply must be well-formed and for an xid in `others`.
 */
async function probe(conn: RawConn, others: ReadonlySet<number>, what: string): Promise<'answered' | 'closed'> {
  await conn.write(requestPacket(PROBE_XID, Op.exists, new JuteWriter().string('/witness').bool(false).bytes()));
  stats.frames++;
  for (;;) {
    let f: Buffer | null;
    try {
      f = await conn.nextFrame(ANSWER_TIMEOUT_MS);
    } catch {
      assert.fail(`${what}: no answer to the probe and no close within ${ANSWER_TIMEOUT_MS} ms (seed ${seed})`);
    }
    if (f === null) return 'closed';
    const r = assertWellFormedReply(f, () => `${what} (seed ${seed})`, others);
    if (r.xid === PROBE_XID) {
      assert.equal(r.err, Err.ok, `${what}: the probe's exists /witness`);
      return 'answered';
    }
    if (others.has(r.xid)) continue;
    if (r.xid === -1 || r.xid === -2) continue; // a notification, a ping's answer
    assert.fail(`${what}: a reply for xid ${r.xid}, never sent (seed ${seed})`);
  }
}

/** A first frame on a new connection: answered with a ConnectResponse, or closed. */
async function expectHandshakeOrClose(conn: RawConn, what: string): Promise<void> {
  let f: Buffer | null;
  try {
    f = await conn.nextFrame(ANSWER_TIMEOUT_MS);
  } catch {
    assert.fail(`${what}: no ConnectResponse and no close within ${ANSWER_TIMEOUT_MS} ms (seed ${seed})`);
  }
  if (f === null) return;
  assert.ok(f.length >= 20, `${what}: a ConnectResponse of ${f.length} bytes (seed ${seed})`);
  const resp = parseConnectResponse(f);
  if (resp.timeOut > 0 && resp.sessionId !== 0n) {
    await probe(conn, new Set(), `${what}, then a request on the session it opened`);
  } else {
    assert.equal(await conn.waitClosed(ANSWER_TIMEOUT_MS), true, `${what}: refused but not closed (seed ${seed})`);
  }
}

type Scenario = (g: Gen) => Promise<void>;

const scenarios: Record<string, Scenario> = {
  async requestBeforeConnect(g) {
    const conn = await RawConn.open(port);
    try {
      const op = g.pick([...ALL_OPS, ...UNKNOWN_OPS]);
      const p = planned(g, op, g.chance(0.3));
      await conn.write(requestPacket(1, op, p.body));
      stats.frames++;
      await expectHandshakeOrClose(conn, `request before ConnectRequest: ${describeFrame(op, p.how, p.body)}`);
    } finally {
      conn.destroy();
    }
  },
  async mutatedConnect(g) {
    const conn = await RawConn.open(port);
    try {
      const w = connectBody(g);
      const m = g.chance(0.2) ? { body: g.bytes(g.int(64)), how: 'random bytes' } : mutate(g, w);
      await conn.write(framed(m.body));
      stats.frames++;
      await expectHandshakeOrClose(conn, `ConnectRequest ${m.how}: ${m.body.toString('hex')}`);
    } finally {
      conn.destroy();
    }
  },
  async secondConnect(g) {
    const conn = await newSession();
    stats.sessions++;
    try {
      const w = connectBody(g);
      const body = g.chance(0.5) ? w.bytes() : mutate(g, w).body;
      await conn.write(framed(body));
      stats.frames++;
      // Read as a request: its xid is the ConnectRequest's protocolVersion.
      const xid = body.length >= 4 ? body.readInt32BE(0) : PROBE_XID;
      await probe(conn, new Set([xid]), `a second ConnectRequest ${body.toString('hex')}`);
    } finally {
      conn.destroy();
    }
  },
  async badFrameLength(g) {
    const established = g.chance(0.6);
    const conn = established ? await newSession() : await RawConn.open(port);
    if (established) stats.sessions++;
    try {
      const len = g.pick([-1, -2, -0x80000000, 0x7fffffff, JUTE_MAXBUFFER + 1, JUTE_MAXBUFFER + 1025, 0x10000000]);
      await conn.write(Buffer.concat([int32(len), g.bytes(g.int(32))]));
      stats.frames++;
      const what = `frame length ${len} ${established ? 'after' : 'before'} the handshake`;
      assert.equal(await conn.waitClosed(ANSWER_TIMEOUT_MS), true, `${what}: not closed (seed ${seed})`);
    } finally {
      conn.destroy();
    }
  },
  async shortFrame(g) {
    const conn = await newSession();
    stats.sessions++;
    try {
      const body = g.bytes(g.int(8));
      await conn.write(framed(body));
      stats.frames++;
      const xid = body.length >= 4 ? body.readInt32BE(0) : PROBE_XID;
      await probe(conn, new Set([xid]), `a ${body.length}-byte request frame ${body.toString('hex')}`);
    } finally {
      conn.destroy();
    }
  },
  async halfFrameDropped(g) {
    const conn = await newSession();
    stats.sessions++;
    const p = planned(g, drawOp(g), false);
    const whole = requestPacket(1, p.op, p.body);
    await conn.write(whole.subarray(0, 1 + g.int(whole.length - 1)));
    stats.frames++;
    conn.destroy();
  },
  async reattach(g) {
    // A session with requests in flight is taken over by a second connection (the right
    // password, or a wrong one): the new connection is served or refused and closed; the old
    // one answers what it sent or is closed, never stalls.
    const old = await RawConn.open(port, '127.0.0.1', ANSWER_TIMEOUT_MS);
    const next = await RawConn.open(port, '127.0.0.1', ANSWER_TIMEOUT_MS);
    try {
      const first = await old.handshake({ timeOut: SESSION_TIMEOUT_MS, readOnly: false }, ANSWER_TIMEOUT_MS);
      assert.ok(first !== null && first.timeOut > 0, `a plain handshake was refused (seed ${seed})`);
      stats.sessions++;
      const sent = new Map<number, number>(); // xid -> op
      const frames: Buffer[] = [];
      for (let i = 0, n = 1 + g.int(6); i < n; i++) {
        const p = planned(g, drawOp(g), g.chance(0.3));
        sent.set(i + 1, p.op);
        frames.push(requestPacket(i + 1, p.op, p.body));
      }
      await old.write(Buffer.concat(frames));
      stats.frames += frames.length;
      const passwd = g.chance(0.8) ? first.passwd : g.bytes(first.passwd.length);
      const what = `a reconnect to session 0x${first.sessionId.toString(16)} (${passwd === first.passwd ? 'its' : 'a wrong'} password)`;
      await next.write(connectRequest({ timeOut: SESSION_TIMEOUT_MS, sessionId: first.sessionId, passwd, readOnly: false }));
      stats.frames++;
      await expectHandshakeOrClose(next, what);
      // The old connection: its answers (well-formed, for what it sent), then maybe a close.
      while (sent.size > 0) {
        let f: Buffer | null;
        try {
          f = await old.nextFrame(ANSWER_TIMEOUT_MS);
        } catch {
          assert.fail(`${what}: the old connection neither answered nor closed within ${ANSWER_TIMEOUT_MS} ms (seed ${seed})`);
        }
        if (f === null) break;
        const r = assertWellFormedReply(f, () => `${what}, old connection (seed ${seed})`);
        if (r.xid === -1) continue;
        const xid = r.xid === -2 ? [...sent].find(([, op]) => op === OpCode.ping)?.[0] ?? -2 : r.xid;
        assert.ok(sent.delete(xid), `${what}: the old connection got a reply for xid ${r.xid}, not outstanding (seed ${seed})`);
      }
    } finally {
      old.destroy();
      next.destroy();
    }
  },
};

// ---- the run ----------------------------------------------------------------------------------

/** Reads and writes of the witness session, checked while the fuzz runs and after it. */
async function witnessRound(i: number): Promise<void> {
  const started = Date.now();
  const data = Buffer.from(`round ${i}`);
  const set = await witness.call(witnessXid++, Op.setData, new JuteWriter().string('/witness').buffer(data).int(-1).bytes(), ANSWER_TIMEOUT_MS);
  assert.ok(set !== null, 'the witness connection was closed');
  assert.equal(set.err, Err.ok, 'witness setData');
  const get = await witness.call(witnessXid++, Op.getData, new JuteWriter().string('/witness').bool(false).bytes(), ANSWER_TIMEOUT_MS);
  assert.ok(get !== null, 'the witness connection was closed');
  assert.equal(get.err, Err.ok, 'witness getData');
  assert.deepEqual(new JuteReader(get.body).buffer(), data, 'witness reads what it wrote');
  stats.witnessMaxMs = Math.max(stats.witnessMaxMs, Date.now() - started);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

test('every request type, valid and mutated, and out-of-order frames: answered sanely or closed; the witness is served', async () => {
  const started = Date.now();
  const plans = makePlans();
  let fuzzing = true;
  let witnessRounds = 0;
  const witnessLoop = (async () => {
    while (fuzzing) {
      await witnessRound(witnessRounds++);
      await sleep(200);
    }
  })();
  const sg = new Gen((seed ^ 0x9e3779b9) >>> 0);
  const names = Object.keys(scenarios);
  const scenarioList = [...names, ...Array.from({ length: SCENARIOS - names.length }, () => sg.pick(names))];
  const scenarioLane = (async () => {
    for (const name of scenarioList) {
      count(stats.scenarios, name);
      await scenarios[name]!(sg);
    }
  })();
  try {
    await Promise.all([
      ...plans.map((plan, i) => new Lane(`lane ${i}`, new Gen((seed + 1 + i) >>> 0)).run(plan)),
      scenarioLane,
    ]);
  } finally {
    fuzzing = false;
  }
  await witnessLoop;
  const fuzzMs = Date.now() - started;

  // Afterwards: the process lives, the witness reads and writes, srvr answers.
  assert.ok(servers.every((m) => !m.exited), 'a server process exited');
  await witnessRound(witnessRounds++);
  const w = new JuteWriter().string('/witness/after').buffer(Buffer.from('x'));
  w.int(1).int(31).string('world').string('anyone').int(0);
  assert.equal((await witness.call(witnessXid++, Op.create, w.bytes(), ANSWER_TIMEOUT_MS))?.err, Err.ok, 'witness create');
  const del = new JuteWriter().string('/witness/after').int(-1).bytes();
  assert.equal((await witness.call(witnessXid++, Op.delete, del, ANSWER_TIMEOUT_MS))?.err, Err.ok, 'witness delete');
  assert.match(await fourLetter(port, 'srvr', ANSWER_TIMEOUT_MS), /^Zookeeper version: /);

  for (const op of [...ALL_OPS, ...UNKNOWN_OPS]) assert.ok((stats.sentByOp.get(op) ?? 0) > 0, `${opName(op)} was sent`);
  console.log(
    `# seed ${seed}: ${stats.frames} frames (${LANES} lanes + ${SCENARIOS} scenarios) in ${fuzzMs} ms, ` +
      `${stats.replies} replies (${stats.errorReplies} with an error code), ${stats.notifications} notifications, ` +
      `${stats.closes} connections closed by the server, ${stats.sessions} sessions, ${stats.bytewiseBatches} batches written byte by byte, ` +
      `${witnessRounds} witness rounds (slowest ${stats.witnessMaxMs} ms)`,
  );
  console.log(`# frames per opcode: ${[...stats.sentByOp].sort((a, b) => a[0] - b[0]).map(([op, n]) => `${opName(op)} ${n}`).join(', ')}`);
  console.log(`# ok replies per opcode: ${[...stats.okByOp].sort((a, b) => a[0] - b[0]).map(([op, n]) => `${opName(op)} ${n}`).join(', ')}`);
  console.log(`# scenarios: ${[...stats.scenarios].map(([s, n]) => `${s} ${n}`).join(', ')}`);

  if (!isApache()) {
    // pino lines: level 50 is error, 60 fatal. Anything else the process printed that looks
    // like an exception counts too.
    const bad: string[] = [];
    for (const line of servers.flatMap((m) => m.logs().split('\n'))) {
      if (line.trim() === '') continue;
      let level = 0;
      let msg = line;
      try {
        const rec = JSON.parse(line) as { level?: number; msg?: string };
        level = rec.level ?? 0;
        msg = rec.msg ?? '';
      } catch {
        if (/\bError\b|^\s+at |Uncaught|FATAL/.test(line)) level = 60;
      }
      if (level >= 50 && !EXPECTED_ERROR_LOGS.some((re) => re.test(msg))) bad.push(line);
    }
    assert.deepEqual(bad, [], 'server log lines at error or fatal level');
  }
});
