// The largest replies zkts delivers (issue 9 item 1), and what one of them costs the others.
//
//   npm run bench:big-replies
//
// Starts one zkts server (jute.maxbuffer 32 MiB, ports 22790.. of the advReplies block), then
// serves, each as large as one ring record holds (recordBytesMax, 32 MiB, less the headers):
//   - a multiRead of 32 getData of a ~1 MiB node (default jute.maxbuffer-sized data);
//   - a getChildren of a node with 160,000 children of 200-character names;
//   - a getData of a node of 32 MiB less the reply's own bytes;
// and one byte more of each, which closes that connection instead. Meanwhile four witness
// sessions send `exists /` back to back (the main thread answers it; each witness lands on one
// of the session workers): the largest witness round trip during a big request, against the
// largest while idle, is how long that request stalls the threads it passes through.

import net from 'node:net';
import { recordBytesMax } from '../src/shm/limits.js';
import { replyBodyBytesMax } from '../src/shm/records.js';
import { startServer } from '../test/integration/harness/server.js';
import { SUITE_PORTS, suitePort } from '../test/integration/harness/target.js';

class Conn {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private waiter: (() => void) | null = null;
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.bytes += d.length;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }
  static async open(port: number): Promise<Conn> {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const c = new Conn(s);
    const req = Buffer.alloc(4 + 45);
    req.writeInt32BE(45, 0);
    req.writeInt32BE(30000, 4 + 12); // protocolVersion 0, lastZxidSeen 0, timeOut
    req.writeInt32BE(16, 4 + 24); // passwd: 16 zero bytes
    s.write(req);
    await c.frame();
    return c;
  }
  /** The first `n` bytes; only the first `keep` of them are copied out (a large reply's body
   *  is counted, not concatenated: a fresh 32 MiB buffer here would stall the witnesses too). */
  private take(n: number, keep: number): Buffer {
    const out = Buffer.alloc(Math.min(n, keep));
    let filled = 0;
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, left);
      if (filled < out.length) filled += c.copy(out, filled, 0, Math.min(k, out.length - filled));
      left -= k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.bytes -= n;
    return out;
  }
  /** The next frame (its first 64 KiB), or null once closed; `length` is its full length. */
  length = 0;
  async frame(): Promise<Buffer | null> {
    for (;;) {
      if (this.bytes >= 4) {
        const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks);
        const len = head.readInt32BE(0);
        if (this.bytes >= 4 + len) {
          this.length = len;
          return this.take(4 + len, 4 + 65536).subarray(4);
        }
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
  }
  send(xid: number, op: number, body: Buffer): void {
    const h = Buffer.alloc(12);
    h.writeInt32BE(8 + body.length, 0);
    h.writeInt32BE(xid, 4);
    h.writeInt32BE(op, 8);
    this.socket.write(Buffer.concat([h, body]));
  }
  /** Sends and waits for the reply with that xid: [err, body length], or null when closed. */
  async call(xid: number, op: number, body: Buffer): Promise<[number, number] | null> {
    this.send(xid, op, body);
    for (;;) {
      const f = await this.frame();
      if (f === null) return null;
      if (f.readInt32BE(0) === xid) return [f.readInt32BE(12), this.length - 16];
    }
  }
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const l = Buffer.alloc(4);
  l.writeInt32BE(b.length);
  return Buffer.concat([l, b]);
}
function int(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function create(path: string, data: Buffer): Buffer {
  return Buffer.concat([str(path), int(data.length), data, int(1), int(31), str('world'), str('anyone'), int(0)]);
}
const header = (type: number, done: boolean): Buffer => Buffer.concat([int(type), Buffer.from([done ? 1 : 0]), int(-1)]);
const pathWatch = (p: string): Buffer => Buffer.concat([str(p), Buffer.from([0])]);

async function main(): Promise<void> {
  const port = suitePort(SUITE_PORTS.advReplies, 9);
  const server = await startServer('zkts', { port, extra: { 'jute.maxbuffer': String(recordBytesMax), sessionWorkers: '2' } });
  const witnesses: { conn: Conn; maxMs: number; running: boolean }[] = [];
  try {
    const c = await Conn.open(port);
    let xid = 1;
    const ok = async (op: number, body: Buffer): Promise<void> => {
      const r = await c.call(xid++, op, body);
      if (r === null || r[0] !== 0) throw new Error(`op ${op}: ${r === null ? 'closed' : r[0]}`);
    };
    // The data: a ~1 MiB node, a node of 160,000 children, a 32 MiB node (and one a byte larger).
    const mib = Buffer.alloc(1_048_000, 7);
    await ok(1, create('/m', mib));
    await ok(1, create('/c', Buffer.alloc(0)));
    const children = 160_000;
    for (let i = 0; i < children; i += 4000) {
      const ops: Buffer[] = [];
      for (let j = i; j < Math.min(children, i + 4000); j++) {
        ops.push(header(1, false), create(`/c/${String(j).padStart(7, '0')}`.padEnd(203, 'x'), Buffer.alloc(0)));
      }
      await ok(14, Buffer.concat([...ops, header(-1, true)]));
    }
    const gBytes = replyBodyBytesMax - 4 - 68; // GetDataResponse: data, stat
    await ok(1, create('/g', Buffer.alloc(gBytes, 3)));
    await ok(1, create('/g1', Buffer.alloc(gBytes + 1, 3)));

    for (let i = 0; i < 4; i++) witnesses.push({ conn: await Conn.open(port), maxMs: 0, running: true });
    const loops = witnesses.map(async (w) => {
      for (let x = 1; w.running; x++) {
        const t = performance.now();
        if ((await w.conn.call(x, 3, pathWatch('/'))) === null) throw new Error('a witness was closed');
        w.maxMs = Math.max(w.maxMs, performance.now() - t);
      }
    });
    const window = async (ms: number): Promise<number[]> => {
      for (const w of witnesses) w.maxMs = 0;
      await new Promise((r) => setTimeout(r, ms));
      return witnesses.map((w) => w.maxMs);
    };
    const idle = await window(1000);
    const rows: string[] = [`idle: witness round trips max ${idle.map((m) => m.toFixed(1)).join(' / ')} ms`];
    // Three times back to back: the first pays for fresh buffers (page faults), the next reuse
    // the ones the server keeps for a while.
    const measure = async (name: string, op: number, body: Buffer): Promise<void> => {
      for (let rep = 1; rep <= 3; rep++) {
        const conn = await Conn.open(port);
        for (const w of witnesses) w.maxMs = 0;
        const t = performance.now();
        const r = await conn.call(1, op, body);
        const ms = performance.now() - t;
        await new Promise((resolve) => setTimeout(resolve, 50));
        const stalls = witnesses.map((w) => w.maxMs.toFixed(0)).join(' / ');
        const what = r === null ? 'connection closed' : `reply body ${r[1]} bytes (err ${r[0]})`;
        rows.push(`${name} #${rep}: ${what} in ${ms.toFixed(0)} ms; witness round trips max ${stalls} ms`);
        conn.socket.destroy();
        if (r === null) break;
      }
    };
    const getData = (path: string): Buffer => Buffer.concat([header(4, false), pathWatch(path)]);
    // multiRead: 32 getData of /m and one of /s, sized so the reply is exactly the bound (/s1: +1).
    const perM = 9 + 4 + mib.length + 68;
    const s0 = replyBodyBytesMax - 9 - 32 * perM - (9 + 4 + 68);
    await ok(1, create('/s', Buffer.alloc(s0, 1)));
    await ok(1, create('/s1', Buffer.alloc(s0 + 1, 1)));
    const multiRead = (last: string): Buffer =>
      Buffer.concat([...Array.from({ length: 32 }, () => getData('/m')), getData(last), header(-1, true)]);
    await measure('multiRead 32 x getData 1 MB + 1', 22, multiRead('/s'));
    await measure('multiRead, one byte more', 22, multiRead('/s1'));
    // getChildren: 160,000 children and one long name that brings the reply to the bound.
    const base = 4 + children * (4 + 203 - 3);
    const longName = (n: number): string => 'z'.repeat(n);
    const l0 = replyBodyBytesMax - base - 4;
    await ok(1, create(`/c/${longName(l0)}`, Buffer.alloc(0)));
    await measure(`getChildren ${children + 1} children`, 8, pathWatch('/c'));
    await ok(2, Buffer.concat([str(`/c/${longName(l0)}`), int(-1)]));
    await ok(1, create(`/c/${longName(l0 + 1)}`, Buffer.alloc(0)));
    await measure('getChildren, one byte more', 8, pathWatch('/c'));
    await measure('getData 32 MiB node', 4, pathWatch('/g'));
    await measure('getData, one byte more', 4, pathWatch('/g1'));
    for (const w of witnesses) w.running = false;
    await Promise.all(loops);
    console.log(rows.join('\n'));
  } finally {
    for (const w of witnesses) w.conn.socket.destroy();
    await server.stop();
  }
}

await main();
