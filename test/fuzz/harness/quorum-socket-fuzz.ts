// The quorum fuzzer over real sockets: a QuorumTransport (member 1 of 1..3, no secret) takes
// hostile frames from a raw connection that says Hello as member 2 and then sends what
// QuorumFuzzer.makeFrame draws, reconnecting whenever the transport closes it; the transport
// must close bad links and nothing else, and afterwards still connect a real peer (member 3)
// and deliver to it. Ports: 127.0.0.1 23190-23199 (SUITE_PORTS.advQuorum's block).

import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeHelloFrame, encodeMessageFrame } from '../../../src/main/net/codec.js';
import { QuorumTransport } from '../../../src/main/net/transport.js';
import type { Msg } from '../../../src/main/zab/messages.js';
import { QuorumFuzzer } from './quorum-fuzzer.js';

const host = '127.0.0.1';
export const socketFuzzPorts = { member1: 23190, member3: 23191, member2Unused: 23199 } as const;
/** Ends each batch (a zxid the fuzzer never draws). */
const sentinelZxid = 987_654_321_987;
const incompleteFrameWaitMs = 200;

export interface SocketFuzzStats {
  frames: number;
  bytes: number;
  /** Connections the transport closed (a bad frame, or a Hello refused). */
  closedByTransport: number;
  /** Batches (4 frames) the transport read through to their sentinel without closing the link. */
  batchesRead: number;
  /** Links given up on because a frame's announced length was never completed. */
  incomplete: number;
  messages: number;
  forwards: number;
  /** A real peer connected afterwards and got a message. */
  servedAfter: boolean;
}

export async function runSocketFuzz(seed: number, frames: number): Promise<SocketFuzzStats> {
  const silent = { debug() {}, info() {}, warn() {} };
  const peers = new Map([
    [1, { host, port: socketFuzzPorts.member1 }],
    [2, { host, port: socketFuzzPorts.member2Unused }],
    [3, { host, port: socketFuzzPorts.member3 }],
  ]);
  const t = new QuorumTransport({ myId: 1, peers, listenHost: host, listenPort: socketFuzzPorts.member1, logger: silent, reconnectDelayMsMin: 50, reconnectDelayMsMax: 200 });
  const stats: SocketFuzzStats = { frames: 0, bytes: 0, closedByTransport: 0, batchesRead: 0, incomplete: 0, messages: 0, forwards: 0, servedAfter: false };
  let sentinelSeen: (() => void) | null = null;
  const sentinel = encodeMessageFrame({ type: 'COMMIT', zxid: sentinelZxid });
  t.on('message', (_from, msg) => {
    if (msg.type === 'COMMIT' && msg.zxid === sentinelZxid) sentinelSeen?.();
    else stats.messages++;
  });
  t.on('forward', () => stats.forwards++);
  await t.start();
  const fuzzer = new QuorumFuzzer({ seed, frames: 0 });
  try {
    while (stats.frames < frames) {
      const s = net.connect({ host, port: socketFuzzPorts.member1 });
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      let closed = false;
      s.once('close', () => (closed = true));
      await new Promise<void>((resolve) => {
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      });
      if (closed) continue;
      s.write(encodeHelloFrame({ cluster: 'zkts', sender: 2, receiver: 1, nonce: new Uint8Array(0), mac: new Uint8Array(0) }));
      // Frames in small batches, each ended by a sentinel COMMIT: the next batch goes once the
      // transport has emitted the sentinel (it read the whole batch) or closed the link.
      while (!closed && stats.frames < frames) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 4 && stats.frames < frames; i++) {
          stats.frames++;
          const made = fuzzer.makeFrame(2, 1);
          if (made !== null) batch.push(made.frame);
        }
        batch.push(sentinel);
        const bytes = Buffer.concat(batch);
        stats.bytes += bytes.length;
        let timer: NodeJS.Timeout | null = null;
        let seen = false;
        const read = new Promise<void>((resolve) => {
          sentinelSeen = () => {
            seen = true;
            resolve();
          };
          s.once('close', () => resolve());
          // A length prefix that announces more than was sent leaves the reader waiting for
          // the rest: that link is given up (a real peer's would time out on syncLimit).
          timer = setTimeout(resolve, incompleteFrameWaitMs);
        });
        s.write(bytes);
        await read;
        if (timer !== null) clearTimeout(timer);
        if (seen) stats.batchesRead++;
        else if (!closed) {
          stats.incomplete++;
          break;
        }
      }
      if (closed) stats.closedByTransport++;
      s.destroy();
      if (!closed) await new Promise<void>((resolve) => s.once('close', () => resolve()));
    }
    // The transport still serves a real member.
    const got: Msg[] = [];
    const peer3 = new QuorumTransport({ myId: 3, peers, listenHost: host, listenPort: socketFuzzPorts.member3, logger: silent, reconnectDelayMsMin: 20, reconnectDelayMsMax: 100 });
    peer3.on('message', (_from, msg) => got.push(msg));
    await peer3.start();
    const deadline = Date.now() + 20_000;
    while (!t.isConnected(3) && Date.now() < deadline) await sleep(10);
    if (t.isConnected(3)) t.send(3, { type: 'PING' });
    while (got.length === 0 && Date.now() < deadline) await sleep(10);
    stats.servedAfter = got.length > 0;
    await peer3.close();
  } finally {
    await t.close();
  }
  return stats;
}
