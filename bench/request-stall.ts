// The worst stall one client's requests cause the others (issue 9, item 9).
//
//   npx tsc -b && node dist/bench/request-stall.js      (ZKTS_STALL_PORT, default 22980)
//
// A zkts server runs with 2 session workers. Four witness sessions (on both workers) each send
// exists('/') back to back for the whole run and record every round trip. One attacker then, in
// turn:
//   acl-create   create with an ACL of 40,000 distinct ip entries (~960 KB, inside jute.maxbuffer)
//   acl-set      setACL with the same 40,000 entries
//   auth-flood   20,000 distinct digest auth packets, pipelined, on one session, then a create
//                whose ACL is `auth` (one entry per authenticated id)
// For each phase the report gives the attacker's answer and how long it took, and the witnesses'
// worst round trip during the phase, against their worst in an idle phase before. The worst
// witness round trip is what a main-thread (or worker) stall costs everyone else.

import { JuteWriter, Op, RawConn, openSession, requestPacket } from '../test/integration/harness/raw.js';
import { startServer } from '../test/integration/harness/server.js';

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

export async function run(): Promise<void> {
  const server = await startServer('zkts', { port, extra: { sessionWorkers: '2' }, maxSessionTimeout: 120000 });
  const stop = { done: false };
  const samples: Sample[] = [];
  const witnesses: RawConn[] = [];
  const loops: Promise<void>[] = [];
  const rows: Array<[string, string, string, string]> = [];
  try {
    for (let i = 0; i < 4; i++) {
      const { conn } = await openSession(port, 120000);
      witnesses.push(conn);
      loops.push(witnessLoop(conn, samples, stop));
    }
    const { conn: attacker } = await openSession(port, 120000);
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
    const { conn: flooder } = await openSession(port, 120000);
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
    attacker.destroy();
  } finally {
    stop.done = true;
    await Promise.allSettled(loops);
    for (const w of witnesses) w.destroy();
    await server.stop();
  }
  console.log('| phase | attacker\'s answer | attack ms | worst witness round trip ms |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
