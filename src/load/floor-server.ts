// The plain-Node floor (issue 11): a server that only accepts TCP connections, parses 4-byte
// length-prefixed frames, answers the ConnectRequest with a valid ConnectResponse and every ping
// with a ReplyHeader, a closeSession with its ReplyHeader and a close, and closes the connection
// on anything else. It is what any session server on node:net pays per held session and per ping
// on this kernel; bench/session-cost.ts measures zkts and Apache ZooKeeper against it in the same
// run, and bench/load-client.ts measures `zkts load hold` against it.
//
// It is kept the floor on purpose: no session table (a session id is a counter, the password one
// random 16 bytes per server run, and a reconnect with an id is simply answered with that id),
// no timers, no expiry; per connection only what the socket needs: a handshake flag and the bytes
// of a partial frame, kept only while the frame is partial. A ping's reply is one preallocated
// buffer written as is, so nothing is allocated per ping on our side.
//
// Run alone: node dist/src/load/floor-server.js --port 25600 [--host 127.0.0.1]
// It prints "floor listening <host>:<port> pid <pid>" once it listens, and stops on SIGTERM/SIGINT.

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { OpCode, Xid } from '../common/zk.js';
import { JuteReader, JuteWriter, decodeConnectRequest, encodeConnectResponse } from '../protocol/jute/index.js';
import { floorFrameBytesMax, floorListenBacklog, sessionPasswdBytes } from './limits.js';

export interface FloorServer {
  readonly port: number;
  readonly host: string;
  /** Connections open now. */
  readonly connections: number;
  /** Sessions answered (ConnectResponses sent) and pings answered, since the start. */
  readonly sessionsOpened: number;
  readonly pingsAnswered: number;
  /** Connections closed for a frame the floor does not answer (or a bad length). */
  readonly rejected: number;
  /** Stops listening and destroys every connection; resolves once the listener is closed. */
  close(): Promise<void>;
}

/** The ping's reply: ReplyHeader { xid: -2, zxid: 0, err: 0 } behind its length. Never changed
 *  after start-up, so one buffer serves every socket. */
function pingReplyFrame(): Buffer {
  const w = new JuteWriter(32);
  w.beginFrame();
  w.writeInt(Xid.ping);
  w.writeLong(0);
  w.writeInt(0);
  w.endFrame();
  return w.bytesCopy();
}

export function startFloorServer(port: number, host = '127.0.0.1'): Promise<FloorServer> {
  const pingReply = pingReplyFrame();
  const passwd = randomBytes(sessionPasswdBytes);
  // Session ids: a random high half per run (never 0) and a counter in the low half.
  const idHigh = BigInt((randomBytes(4).readUInt32BE(0) | 1) >>> 0) << 32n;
  const reader = new JuteReader();
  const writer = new JuteWriter(128);
  const sockets = new Set<net.Socket>();
  let opened = 0;
  let pings = 0;
  let rejected = 0;

  const connectResponse = (frame: Buffer, start: number, end: number): Buffer | null => {
    let req: ReturnType<typeof decodeConnectRequest>;
    try {
      req = decodeConnectRequest(reader.reset(frame, start, end));
    } catch {
      return null;
    }
    opened++;
    writer.reset();
    writer.beginFrame();
    encodeConnectResponse(writer, {
      protocolVersion: 0,
      timeOut: req.timeOut,
      sessionId: req.sessionId !== 0n ? req.sessionId : idHigh | BigInt(opened >>> 0),
      passwd,
      readOnly: false,
    });
    writer.endFrame();
    return writer.bytesCopy();
  };

  const serve = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let handshaken = false;
    let partial: Buffer | null = null;
    const reject = (): void => {
      rejected++;
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      const buf = partial === null ? chunk : Buffer.concat([partial, chunk]);
      partial = null;
      let off = 0;
      // Bounded: every turn consumes at least one whole frame (4 bytes or more) of this chunk.
      while (buf.length - off >= 4) {
        const len = buf.readInt32BE(off);
        if (len < 0 || len > floorFrameBytesMax) return reject();
        if (buf.length - off - 4 < len) break;
        const start = off + 4;
        off = start + len;
        if (!handshaken) {
          const reply = connectResponse(buf, start, off);
          if (reply === null) return reject();
          handshaken = true;
          socket.write(reply);
        } else if (len >= 8 && buf.readInt32BE(start) === Xid.ping && buf.readInt32BE(start + 4) === OpCode.ping) {
          pings++;
          socket.write(pingReply);
        } else if (len >= 8 && buf.readInt32BE(start + 4) === OpCode.closeSession) {
          // closeSession: its ReplyHeader (the request's xid, zxid 0, err 0), then the close, as ZooKeeper does.
          const reply = Buffer.alloc(20);
          reply.writeInt32BE(16, 0);
          reply.writeInt32BE(buf.readInt32BE(start), 4);
          socket.end(reply);
          return;
        } else {
          return reject();
        }
      }
      if (off < buf.length) partial = buf.subarray(off);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };

  const server = net.createServer({ noDelay: true }, serve);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: floorListenBacklog }, () => {
      server.off('error', reject);
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        host,
        get connections() {
          return sockets.size;
        },
        get sessionsOpened() {
          return opened;
        },
        get pingsAnswered() {
          return pings;
        },
        get rejected() {
          return rejected;
        },
        close() {
          for (const s of sockets) s.destroy();
          return new Promise<void>((r) => server.close(() => r()));
        },
      });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, not '${values.port}'`);
  const floor = await startFloorServer(port, values.host);
  process.stdout.write(`floor listening ${floor.host}:${floor.port} pid ${process.pid}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void floor.close().then(() => process.exit(0)));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`floor-server: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
