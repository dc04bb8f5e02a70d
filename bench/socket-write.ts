// The plain-Node floor of one watch fan-out: one small frame written to each of N connected
// sockets, as socket.write does it and as Conn.writeNow does it (one write(2) on the socket's
// descriptor, src/workers/conn.ts). It prints the writer's CPU per frame (user + system, from the
// first write until every frame has been read and the writer's stream callbacks have run) and
// the reader's, for each way, alternating, over several rounds.
//
//   node dist/bench/socket-write.js [--sockets 10000] [--rounds 5] [--bytes 44]
//
// The reader is a child process with N sockets reading into one shared buffer (node:net's onread,
// as the lean watchers do). Ports: an ephemeral one on 127.0.0.1.

import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** --sockets at most (each side holds one descriptor per socket). */
const socketWriteSocketsMax = 15_000;
/** --rounds at most. */
const socketWriteRoundsMax = 20;
/** Connects in flight while the reader opens its sockets. */
const readerConnectsInFlight = 64;
/** How long a round may take before the bench gives up. */
const roundTimeoutMs = 30_000;

type ReaderMessage = { kind: 'ready' } | { kind: 'read'; cpuUs: number };

/** The reader: N sockets, one shared read buffer; reports once `expected` bytes have arrived. */
function reader(port: number, sockets: number, bytes: number): void {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let got = 0;
  let expected = Number.POSITIVE_INFINITY;
  let cpu0 = process.cpuUsage();
  const onread = {
    buffer: buf,
    callback: (n: number): boolean => {
      got += n;
      if (got >= expected) {
        expected = Number.POSITIVE_INFINITY;
        const c = process.cpuUsage(cpu0);
        process.send?.({ kind: 'read', cpuUs: c.user + c.system } satisfies ReaderMessage);
      }
      return true;
    },
  };
  let opened = 0;
  let next = 0;
  const open = (): void => {
    const s = net.connect({ port, host: '127.0.0.1', onread, noDelay: true });
    s.on('error', () => process.exit(2));
    s.once('connect', () => {
      if (++opened === sockets) process.send?.({ kind: 'ready' } satisfies ReaderMessage);
      else if (next < sockets) {
        next++;
        open();
      }
    });
  };
  for (; next < Math.min(readerConnectsInFlight, sockets); next++) open();
  process.on('message', (m: { kind: string }) => {
    if (m.kind === 'go') {
      got = 0;
      expected = sockets * bytes;
      cpu0 = process.cpuUsage();
    } else if (m.kind === 'exit') process.exit(0);
  });
}

function descriptorOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

function writeAll(conns: net.Socket[], frame: Buffer, way: 'stream' | 'descriptor'): void {
  if (way === 'stream') {
    for (const s of conns) s.write(frame);
    return;
  }
  for (const s of conns) {
    let n = 0;
    try {
      n = fs.writeSync(descriptorOf(s), frame);
    } catch {
      n = 0;
    }
    if (n < frame.length) s.write(n === 0 ? frame : frame.subarray(n));
  }
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { sockets: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' }, bytes: { type: 'string', default: '44' } },
  });
  const sockets = Number(values.sockets);
  const rounds = Number(values.rounds);
  const bytes = Number(values.bytes);
  if (!Number.isInteger(sockets) || sockets < 1 || sockets > socketWriteSocketsMax) throw new Error(`--sockets: 1..${socketWriteSocketsMax}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > socketWriteRoundsMax) throw new Error(`--rounds: 1..${socketWriteRoundsMax}`);
  if (!Number.isInteger(bytes) || bytes < 8 || bytes > 4096) throw new Error('--bytes: 8..4096');
  const frame = Buffer.alloc(bytes);
  frame.writeInt32BE(bytes - 4, 0);

  const conns: net.Socket[] = [];
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => {});
    conns.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--reader', String(port), String(sockets), String(bytes)]);
  const messages: ReaderMessage[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (m: ReaderMessage) => {
    messages.push(m);
    wake?.();
  });
  const next = async (): Promise<ReaderMessage> => {
    const deadline = Date.now() + roundTimeoutMs;
    while (messages.length === 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('socket-write: the reader stopped answering');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
      wake = null;
    }
    return messages.shift()!;
  };
  try {
    if ((await next()).kind !== 'ready') throw new Error('socket-write: reader not ready');
    while (conns.length < sockets) await new Promise((r) => setTimeout(r, 10));
    const per: Record<'stream' | 'descriptor', { writer: number[]; reader: number[] }> = { stream: { writer: [], reader: [] }, descriptor: { writer: [], reader: [] } };
    for (let round = 0; round <= rounds; round++) {
      for (const way of round % 2 === 0 ? (['stream', 'descriptor'] as const) : (['descriptor', 'stream'] as const)) {
        child.send({ kind: 'go' });
        await new Promise((r) => setTimeout(r, 50));
        const cpu0 = process.cpuUsage();
        writeAll(conns, frame, way);
        const m = await next();
        await new Promise((r) => setImmediate(r)); // the stream's after-write callbacks
        const c = process.cpuUsage(cpu0);
        if (m.kind !== 'read') throw new Error('socket-write: unexpected message');
        if (round === 0) continue; // warm-up
        per[way].writer.push((c.user + c.system) / sockets);
        per[way].reader.push(m.cpuUs / sockets);
      }
    }
    const med = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      const mid = v.length >> 1;
      return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
    };
    const f = (xs: number[]): string => `${med(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
    process.stdout.write(`socket-write (node ${process.version}): one ${bytes}-byte frame to each of ${sockets} sockets, median (min–max) of ${rounds} rounds\n`);
    for (const way of ['stream', 'descriptor'] as const) {
      process.stdout.write(`  ${way.padEnd(10)} writer µs/frame ${f(per[way].writer)}   reader µs/frame ${f(per[way].reader)}\n`);
    }
    const ratios = per.descriptor.writer.map((d, i) => d / per.stream.writer[i]!);
    process.stdout.write(`  descriptor / stream, writer CPU per round: ${ratios.map((x) => x.toFixed(2)).join(' ')} (median ${med(ratios).toFixed(2)})\n`);
  } finally {
    child.send({ kind: 'exit' });
    for (const s of conns) s.destroy();
    server.close();
  }
}

if (process.argv[2] === '--reader') {
  reader(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
