// The worst stall one client's requests cause the others (issue 9, item 9).
//
//   npm run bench:stall      (ZKTS_STALL_PORT, default 22980)
//   ZKTS_STALL_TARGET=zkts|apache|both (default both: the same phases against Apache ZooKeeper
//   3.8, Debian's, on the next port block, for the ratio)
//
// A zkts server runs with 2 session workers. Four witness sessions (on both workers) each send
// exists('/') back to back for the whole run and record every round trip. One attacker then, in
// turn:
//   acl-create   create with an ACL of 40,000 distinct ip entries (~960 KB, inside jute.maxbuffer)
//   acl-set      setACL with the same 40,000 entries
//   auth-flood   20,000 distinct digest auth packets, pipelined, on one session, then a create
//                whose ACL is `auth` (one entry per authenticated id)
//   multi-create one multi of as many small creates as jute.maxbuffer holds (~1 MiB)
//   setWatches   a setWatches of ~1 MiB of paths (one list of exist watches)
//   all-children getAllChildrenNumber('/') once the tree holds the creates above
//   close-ephemerals closeSession of a session owning as many ephemerals as its closeSession
//                txn may list (jute.maxbuffer of paths), made by a few multis beforehand
// For each phase the report gives the attacker's answer and how long it took, and the witnesses'
// worst round trip during the phase, against their worst in an idle phase before. The worst
// witness round trip is what a main-thread (or worker) stall costs everyone else.

import { JuteWriter, Op, type RawConn, openSession, requestPacket } from '../test/integration/harness/raw.js';
import { startServer, type ServerKind } from '../test/integration/harness/server.js';

const port = Number(process.env['ZKTS_STALL_PORT'] ?? 22980);
const aclEntries = 40_000;
const authPackets = 20_000;

interface Sample {
  startMs: number;
  rttMs: number;
}

function aclBody(prefix: JuteWriter, n: number): JuteWriter {
  prefix.int(n);
  for (let i = 0; i < n; i++) prefix.int(31).string('ip').string(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return prefix;
}

async function witnessLoop(conn: RawConn, samples: Sample[], stop: { done: boolean }): Promise<void> {
  let xid = 1;
  const body = new JuteWriter().string('/').bool(false).bytes();
  while (!stop.done) {
    const t0 = performance.now();
    const r = await conn.call(xid++, Op.exists, body, 120000);
    if (r === null) throw new Error('a witness was disconnected');
    samples.push({ startMs: t0, rttMs: performance.now() - t0 });
  }
}

function worstIn(samples: Sample[], fromMs: number, toMs: number): number {
  let worst = 0;
  // A round trip that overlaps the window counts: it started before its end and ended after its start.
  for (const s of samples) if (s.startMs < toMs && s.startMs + s.rttMs > fromMs) worst = Math.max(worst, s.rttMs);
  return worst;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function run(kind: ServerKind): Promise<Array<[string, string, string, string]>> {
  const server = await startServer(kind, {
    port: kind === 'zkts' ? port : port + 10,
    extra: { sessionWorkers: '2' },
    maxSessionTimeout: 120000,
  });
  const port_ = server.port;
  const stop = { done: false };
  const samples: Sample[] = [];
  const witnesses: RawConn[] = [];
  const loops: Promise<void>[] = [];
  const rows: Array<[string, string, string, string]> = [];
  try {
    for (let i = 0; i < 4; i++) {
      const { conn } = await openSession(port_, 120000);
      witnesses.push(conn);
      loops.push(witnessLoop(conn, samples, stop));
    }
    const { conn: attacker } = await openSession(port_, 120000);
    // Every request is built before its phase: building it here would stall this process, and
    // with it the witnesses' clocks.
    const aclCreate = aclBody(new JuteWriter().string('/huge').buffer(Buffer.alloc(0)), aclEntries).int(0).bytes();
    const aclSet = aclBody(new JuteWriter().string('/target'), aclEntries).int(-1).bytes();
    const authFrames: Buffer[] = [];
    for (let i = 0; i < authPackets; i++) {
      authFrames.push(requestPacket(-4, 100, new JuteWriter().int(0).string('digest').buffer(Buffer.from(`user${i}:pw`)).bytes()));
    }
    const authFlood = Buffer.concat(authFrames);
    const phase = async (name: string, attack: () => Promise<string>): Promise<void> => {
      console.error(`phase: ${name}`);
      const t0 = performance.now();
      const answer = await attack();
      const t1 = performance.now();
      await sleep(200); // let the witnesses' last round trips of the phase finish
      rows.push([name, answer, (t1 - t0).toFixed(0), worstIn(samples, t0, t1).toFixed(1)]);
    };
    await sleep(500);
    await phase('idle (2 s)', async () => {
      await sleep(2000);
      return '-';
    });
    const code = (err: number | undefined): string => (err === undefined ? 'closed' : err === 0 ? 'ok' : String(err));
    await phase(`acl-create (${aclEntries} entries)`, async () => {
      return code((await attacker.call(1, Op.create, aclCreate, 300000))?.err);
    });
    await attacker.call(2, Op.create, new JuteWriter().string('/target').buffer(Buffer.alloc(0)).int(1).int(31).string('world').string('anyone').int(0).bytes());
    await phase(`acl-set (${aclEntries} entries)`, async () => {
      return code((await attacker.call(3, 7, aclSet, 300000))?.err);
    });
    const { conn: flooder } = await openSession(port_, 120000);
    await phase(`auth-flood (${authPackets} ids) + create(auth)`, async () => {
      await flooder.write(authFlood);
      let ok = 0;
      let refused = '';
      for (let i = 0; i < authPackets; i++) {
        const r = await flooder.nextReply(300000);
        if (r === null) break;
        if (r.err !== 0) {
          refused = ` then ${r.err}`;
          break;
        }
        ok++;
      }
      if (flooder.closed || refused !== '') return `${ok} ok${refused}, closed`;
      const create = new JuteWriter().string('/mine').buffer(Buffer.alloc(0)).int(1).int(31).string('auth').string('').int(0).bytes();
      return `${ok} ok, create ${code((await flooder.call(5, Op.create, create, 300000))?.err)}`;
    });
    flooder.destroy();

    // Requests of about jute.maxbuffer (1 MiB) made of the smallest ops.
    const multiOfCreates = (prefix: string, ephemeral: boolean, bytesMax: number): { body: Buffer; n: number } => {
      const w = new JuteWriter();
      let n = 0;
      // MultiHeader (9) + path (4 + its length) + data (4) + one world:anyone ACL (31) + flags (4).
      for (let bytes = 0; bytes < bytesMax; n++) {
        const path = `${prefix}${n.toString(36)}`;
        bytes += 52 + path.length;
        w.int(Op.create).bool(false).int(-1).string(path).buffer(Buffer.alloc(0));
        w.int(1).int(31).string('world').string('anyone').int(ephemeral ? 1 : 0);
      }
      return { body: w.int(-1).bool(true).int(-1).bytes(), n };
    };
    const requestBytes = 1000 * 1000; // under jute.maxbuffer (0xfffff) with the header
    await attacker.call(10, Op.create, new JuteWriter().string('/m').buffer(Buffer.alloc(0)).int(1).int(31).string('world').string('anyone').int(0).bytes());
    const creates = multiOfCreates('/m/', false, requestBytes);
    await phase(`multi-create (${creates.n} creates, one request)`, async () => {
      const r = await attacker.call(11, 14, creates.body, 300000);
      return r === null ? 'closed' : `ok (${r.body.length} B reply)`;
    });
    let watchCount = 0;
    const exist = new JuteWriter();
    for (let bytes = 0; bytes < requestBytes - 32; watchCount++) {
      const path = `/w/${watchCount.toString(36)}`;
      bytes += 4 + path.length;
      exist.string(path);
    }
    const setWatchesBody = Buffer.concat([new JuteWriter().long(0n).int(0).bytes(), new JuteWriter().int(watchCount).bytes(), exist.bytes(), new JuteWriter().int(0).bytes()]);
    await phase(`setWatches (${watchCount} paths, one request)`, async () => {
      await attacker.write(requestPacket(-8, 101, setWatchesBody));
      const r = await attacker.nextReply(300000);
      return r === null ? 'closed' : code(r.err);
    });
    await phase('all-children (getAllChildrenNumber /)', async () => {
      const r = await attacker.call(12, 104, new JuteWriter().string('/').bytes(), 300000);
      return r === null ? 'closed' : `${r.body.readInt32BE(0)} nodes`;
    });
    const { conn: owner } = await openSession(port_, 120000);
    await owner.call(1, Op.create, new JuteWriter().string('/e').buffer(Buffer.alloc(0)).int(1).int(31).string('world').string('anyone').int(0).bytes());
    // As many as a closeSession txn of jute.maxbuffer lists (zkts refuses more with
    // QuotaExceeded; Apache would take more, then fail to read its own txn: ZOOKEEPER-4306).
    let ephemerals = 0;
    let listBytes = 0;
    for (let i = 0; i < 64; i++) {
      const batch = multiOfCreates(`/e/${i.toString(36)}.`, true, 200 * 1000);
      const batchListBytes = 4 * batch.n + batch.n * `/e/${i.toString(36)}.`.length + 3 * batch.n;
      if (listBytes + batchListBytes > 0xfffff - 4096) break;
      const r = await owner.call(2 + i, 14, batch.body, 300000);
      if (r === null) throw new Error('the owner was closed');
      if (r.body.readInt32BE(0) === -1) break; // the closeSession bound: QuotaExceeded
      ephemerals += batch.n;
      listBytes += batchListBytes;
    }
    await phase(`close-ephemerals (closeSession, ${ephemerals} ephemerals)`, async () => {
      const r = await owner.call(100, -11, Buffer.alloc(0), 300000);
      return r === null ? 'closed' : code(r.err);
    });
    owner.destroy();
    attacker.destroy();
  } finally {
    stop.done = true;
    await Promise.allSettled(loops);
    for (const w of witnesses) w.destroy();
    await server.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const target = process.env['ZKTS_STALL_TARGET'] ?? 'both';
  const kinds: ServerKind[] = target === 'both' ? ['zkts', 'apache'] : [target as ServerKind];
  const results = new Map<ServerKind, Array<[string, string, string, string]>>();
  for (const kind of kinds) results.set(kind, await run(kind));
  const z = results.get('zkts');
  const a = results.get('apache');
  if (z !== undefined && a !== undefined) {
    console.log('| phase | zkts answer | zkts worst witness ms | Apache answer | Apache worst witness ms | zkts / Apache |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    z.forEach((r, i) => {
      const o = a[i]!;
      console.log(`| ${r[0]} | ${r[1]} | ${r[3]} | ${o[1]} | ${o[3]} | ${(Number(r[3]) / Number(o[3])).toFixed(2)} |`);
    });
    return;
  }
  console.log('| phase | attacker\'s answer | attack ms | worst witness round trip ms |');
  console.log('| --- | --- | --- | --- |');
  for (const r of (z ?? a)!) console.log(`| ${r.join(' | ')} |`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
