// Four-letter words: the exact shapes Apache ZooKeeper 3.8 prints (see NOTES.md).
//
// The server runs with a whitelist that leaves some words out, to check the refusal text.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JuteWriter, Op, createBody, openSession, type RawConn } from './harness/raw.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort, targetKind } from './harness/target.js';

const WHITELIST = ['ruok', 'srvr', 'stat', 'mntr', 'conf', 'envi', 'cons', 'wchs', 'wchc', 'wchp', 'dirs', 'isro'];

let server: ServerHandle;
let port: number;

before(async () => {
  port = suitePort(SUITE_PORTS.fourletter);
  server = await startServer(targetKind(), {
    port,
    tickTime: 200,
    extra: { '4lw.commands.whitelist': WHITELIST.join(', ') },
  });
});

after(async () => {
  await server?.stop();
});

/** mntr as a map, checking every line is `key<TAB>value`. */
function parseMntr(text: string): Map<string, string> {
  assert.ok(text.endsWith('\n'), 'mntr output ends with a newline');
  const m = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const parts = line.split('\t');
    assert.equal(parts.length, 2, `mntr line is key<TAB>value: ${JSON.stringify(line)}`);
    const [k, v] = parts as [string, string];
    assert.match(k, /^zk_\S+$/, `mntr key ${JSON.stringify(k)}`);
    assert.ok(!m.has(k), `mntr key ${k} appears once`);
    m.set(k, v);
  }
  return m;
}

function intOf(m: Map<string, string>, key: string): number {
  const v = m.get(key);
  assert.ok(v !== undefined, `mntr has ${key}`);
  assert.match(v, /^-?\d+$/, `${key} is an integer: ${v}`);
  return Number(v);
}

function hex(n: bigint): string {
  return '0x' + n.toString(16);
}

async function withSession<T>(f: (conn: RawConn, sid: bigint, timeout: number) => Promise<T>): Promise<T> {
  const { conn, session } = await openSession(port, 4000);
  try {
    return await f(conn, session.sessionId, session.timeOut);
  } finally {
    await conn.call(1000, Op.closeSession);
    conn.destroy();
  }
}

describe('four-letter words', () => {
  test('ruok answers imok, without a newline', async () => {
    assert.equal(await fourLetter(port, 'ruok'), 'imok');
  });

  test('isro answers rw on a read-write server', async () => {
    assert.equal(await fourLetter(port, 'isro'), 'rw');
  });

  test('srvr: the nine lines in ZooKeeper order', async () => {
    const text = await fourLetter(port, 'srvr');
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n');
    const patterns = [
      /^Zookeeper version: \S.*$/,
      /^Latency min\/avg\/max: \d+\/\d+(\.\d+)?\/\d+$/,
      /^Received: \d+$/,
      /^Sent: \d+$/,
      /^Connections: \d+$/,
      /^Outstanding: \d+$/,
      /^Zxid: 0x[0-9a-f]+$/,
      /^Mode: standalone$/,
      /^Node count: \d+$/,
    ];
    assert.equal(lines.length, patterns.length, text);
    patterns.forEach((re, i) => assert.match(lines[i] ?? '', re));
    // only the 4lw connection itself is open
    assert.equal(lines[4], 'Connections: 1');
    assert.equal(lines[5], 'Outstanding: 0');
  });

  test('srvr Zxid and Node count follow writes', async () => {
    const before = await fourLetter(port, 'srvr');
    const zxidOf = (t: string): bigint => BigInt(/^Zxid: (0x[0-9a-f]+)$/m.exec(t)?.[1] ?? 'x');
    const countOf = (t: string): number => Number(/^Node count: (\d+)$/m.exec(t)?.[1] ?? 'x');
    await withSession(async (c) => {
      const r = await c.call(1, Op.create, createBody('/fl-srvr', Buffer.from('x')));
      assert.equal(r?.err, 0);
      const after = await fourLetter(port, 'srvr');
      assert.equal(countOf(after), countOf(before) + 1);
      assert.ok(zxidOf(after) > zxidOf(before), `${after}`);
      assert.equal(zxidOf(after), r?.zxid, 'srvr Zxid is the zxid of the last write');
    });
  });

  test('stat: srvr plus a Clients section listing connections', async () => {
    await withSession(async () => {
      const text = await fourLetter(port, 'stat');
      const lines = text.split('\n');
      assert.match(lines[0] ?? '', /^Zookeeper version: \S/);
      assert.equal(lines[1], 'Clients:');
      const blank = lines.indexOf('', 2);
      const clients = lines.slice(2, blank);
      assert.equal(clients.length, 2, `two connections (the session and this one): ${text}`);
      for (const c of clients) assert.match(c, /^ \/127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+\)$/);
      const rest = lines.slice(blank + 1);
      assert.match(rest[0] ?? '', /^Latency min\/avg\/max: /);
      assert.equal(rest[3], 'Connections: 2');
      assert.equal(rest[6], 'Mode: standalone');
      assert.match(rest[7] ?? '', /^Node count: \d+$/);
      assert.equal(rest[8], '', 'ends with a newline');
    });
  });

  test('mntr: key<TAB>value lines, zk_version then zk_server_state first', async () => {
    const text = await fourLetter(port, 'mntr');
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^zk_version\t\S/);
    assert.equal(lines[1], 'zk_server_state\tstandalone');
    const m = parseMntr(text);
    for (const k of [
      'zk_znode_count',
      'zk_watch_count',
      'zk_ephemerals_count',
      'zk_num_alive_connections',
      'zk_outstanding_requests',
      'zk_max_latency',
      'zk_min_latency',
      'zk_packets_received',
      'zk_packets_sent',
      'zk_approximate_data_size',
    ]) {
      intOf(m, k);
    }
    assert.match(m.get('zk_avg_latency') ?? '', /^\d+(\.\d+)?$/);
    assert.equal(intOf(m, 'zk_num_alive_connections'), 1);
    assert.equal(intOf(m, 'zk_outstanding_requests'), 0);
  });

  test('mntr counts follow znodes, ephemerals, watches and connections', async () => {
    const m0 = parseMntr(await fourLetter(port, 'mntr'));
    await withSession(async (c) => {
      assert.equal((await c.call(1, Op.create, createBody('/fl-mntr', Buffer.alloc(0))))?.err, 0);
      assert.equal((await c.call(2, Op.create, createBody('/fl-mntr/e', Buffer.alloc(0), 1)))?.err, 0);
      // a data watch, an exists watch on a missing node, a child watch
      assert.equal((await c.call(3, Op.getData, new JuteWriter().string('/fl-mntr').bool(true).bytes()))?.err, 0);
      assert.equal((await c.call(4, Op.exists, new JuteWriter().string('/fl-mntr/none').bool(true).bytes()))?.err, -101);
      assert.equal((await c.call(5, Op.getChildren, new JuteWriter().string('/fl-mntr').bool(true).bytes()))?.err, 0);
      const m1 = parseMntr(await fourLetter(port, 'mntr'));
      assert.equal(intOf(m1, 'zk_znode_count'), intOf(m0, 'zk_znode_count') + 2);
      assert.equal(intOf(m1, 'zk_ephemerals_count'), intOf(m0, 'zk_ephemerals_count') + 1);
      assert.equal(intOf(m1, 'zk_watch_count'), intOf(m0, 'zk_watch_count') + 3);
      assert.equal(intOf(m1, 'zk_num_alive_connections'), 2);
    });
    // closeSession removed the ephemeral and the watches
    const m2 = parseMntr(await fourLetter(port, 'mntr'));
    assert.equal(intOf(m2, 'zk_znode_count'), intOf(m0, 'zk_znode_count') + 1);
    assert.equal(intOf(m2, 'zk_ephemerals_count'), intOf(m0, 'zk_ephemerals_count'));
    assert.equal(intOf(m2, 'zk_watch_count'), intOf(m0, 'zk_watch_count'));
  });

  test('conf: key=value lines with the configured values', async () => {
    const text = await fourLetter(port, 'conf');
    assert.ok(text.endsWith('\n'));
    const kv = new Map<string, string>();
    for (const line of text.slice(0, -1).split('\n')) {
      const i = line.indexOf('=');
      assert.ok(i > 0, `conf line is key=value: ${JSON.stringify(line)}`);
      kv.set(line.slice(0, i), line.slice(i + 1));
    }
    assert.equal(kv.get('clientPort'), String(port));
    assert.equal(kv.get('tickTime'), '200');
    assert.equal(kv.get('maxClientCnxns'), '60');
    assert.equal(kv.get('minSessionTimeout'), '400');
    assert.equal(kv.get('maxSessionTimeout'), '4000');
    assert.equal(kv.get('serverId'), '0');
    assert.ok(kv.get('dataDir')?.startsWith(server.dataDir), `dataDir ${kv.get('dataDir')} under ${server.dataDir}`);
    assert.ok(kv.has('dataLogDir'));
    assert.deepEqual([...kv.keys()].slice(0, 3), ['clientPort', 'secureClientPort', 'dataDir']);
  });

  test('envi: Environment: then key=value lines', async () => {
    const text = await fourLetter(port, 'envi');
    const lines = text.split('\n');
    assert.equal(lines[0], 'Environment:');
    assert.equal(lines[lines.length - 1], '', 'ends with a newline');
    const keys = new Set<string>();
    for (const line of lines.slice(1, -1)) {
      assert.match(line, /^[\w.]+=/, `envi line is key=value: ${JSON.stringify(line)}`);
      keys.add(line.slice(0, line.indexOf('=')));
    }
    for (const k of ['zookeeper.version', 'host.name', 'os.name', 'os.arch', 'os.version', 'user.name', 'user.home', 'user.dir']) {
      assert.ok(keys.has(k), `envi has ${k}: ${text}`);
    }
    assert.equal(lines[1]?.startsWith('zookeeper.version='), true);
  });

  test('cons: one line per connection with session details, then a blank line', async () => {
    await withSession(async (c, sid, timeout) => {
      assert.equal((await c.call(7, Op.exists, new JuteWriter().string('/').bool(false).bytes()))?.err, 0);
      const text = await fourLetter(port, 'cons');
      assert.ok(text.endsWith('\n\n'), JSON.stringify(text));
      const lines = text.slice(0, -2).split('\n');
      assert.equal(lines.length, 2, text);
      const sess = lines.find((l) => l.includes('sid='));
      assert.ok(sess !== undefined, text);
      const m =
        /^ \/127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=(\d+),sent=(\d+),sid=(0x[0-9a-f]+),lop=(\w+),est=\d+,to=(\d+),lcxid=(0x[0-9a-f]+),lzxid=(0x[0-9a-f]+|0xffffffffffffffff),lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)$/.exec(
          sess,
        );
      assert.ok(m !== null, `cons session line: ${sess}`);
      assert.equal(m[3], hex(sid));
      assert.equal(m[4], 'EXIS');
      assert.equal(m[5], String(timeout));
      assert.equal(m[6], '0x7');
      const other = lines.find((l) => l !== sess) ?? '';
      assert.match(other, /^ \/127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+\)$/);
    });
  });

  test('wchs, wchc, wchp describe data watches by session and by path', async () => {
    await withSession(async (c, sid) => {
      assert.equal((await c.call(1, Op.create, createBody('/fl-w1', Buffer.alloc(0))))?.err, 0);
      assert.equal((await c.call(2, Op.create, createBody('/fl-w2', Buffer.alloc(0))))?.err, 0);
      assert.equal((await c.call(3, Op.getData, new JuteWriter().string('/fl-w1').bool(true).bytes()))?.err, 0);
      assert.equal((await c.call(4, Op.exists, new JuteWriter().string('/fl-w2').bool(true).bytes()))?.err, 0);
      assert.equal(await fourLetter(port, 'wchs'), '1 connections watching 2 paths\nTotal watches:2\n');
      const wchc = await fourLetter(port, 'wchc');
      const wchcLines = wchc.split('\n');
      assert.equal(wchcLines[0], hex(sid));
      assert.deepEqual(wchcLines.slice(1, 3).sort(), ['\t/fl-w1', '\t/fl-w2']);
      assert.deepEqual(wchcLines.slice(3), ['', '']);
      const wchp = await fourLetter(port, 'wchp');
      const blocks = wchp.slice(0, -2).split('\n');
      assert.equal(blocks.length, 4, JSON.stringify(wchp));
      const byPath = new Map<string, string>();
      for (let i = 0; i < blocks.length; i += 2) byPath.set(blocks[i] ?? '', blocks[i + 1] ?? '');
      assert.deepEqual([...byPath.keys()].sort(), ['/fl-w1', '/fl-w2']);
      assert.equal(byPath.get('/fl-w1'), `\t${hex(sid)}`);
      assert.equal(byPath.get('/fl-w2'), `\t${hex(sid)}`);
      assert.ok(wchp.endsWith('\n\n'));
    });
    // the session is closed: its watches are gone
    assert.equal(await fourLetter(port, 'wchs'), '0 connections watching 0 paths\nTotal watches:0\n');
    assert.equal(await fourLetter(port, 'wchc'), '\n');
    assert.equal(await fourLetter(port, 'wchp'), '\n');
  });

  test('dirs: datadir_size and logdir_size', async () => {
    assert.match(await fourLetter(port, 'dirs'), /^datadir_size: \d+\nlogdir_size: \d+\n$/);
  });

  test('a word left out of 4lw.commands.whitelist is refused with ZooKeeper\'s text', async () => {
    for (const w of ['dump', 'crst', 'srst', 'gtmk', 'stmk']) {
      assert.equal(await fourLetter(port, w), `${w} is not executed because it is not in the whitelist.\n`);
    }
  });

  test('four bytes that are no four-letter word: the connection closes without a reply', async () => {
    // Apache reads them as the length prefix of a ConnectRequest (0x78787878 > jute.maxbuffer)
    assert.equal(await fourLetter(port, 'xxxx'), '');
    assert.equal(await fourLetter(port, 'ruok'), 'imok');
  });
});
