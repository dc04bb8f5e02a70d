// The quorum fuzzer's long run (issue 9, item 12): `npm run bench:quorum-fuzz [-- frames [seed]]`
// (default 1,000,000 frames in-process from seed 1, then 20,000 over real sockets).
//
//   in-process: QuorumFuzzer (test/fuzz/harness/quorum-fuzzer.ts) — random, mutated and replayed frames
//               through the frame reader, the codec, the driver's arrival checks and the Zab
//               core of a live 3-voter + 1-observer ensemble; a new seed every 100,000 frames;
//   sockets:    runSocketFuzz (test/fuzz/harness/quorum-socket-fuzz.ts) — the same frames to a real
//               QuorumTransport over loopback (127.0.0.1:23190-23199), which must afterwards
//               still serve a real peer.
// Prints frames, frames/s, what refused them, and crashes (anything thrown that is not the
// codec's QuorumCodecError); exits 1 if there was a crash.

import { performance } from 'node:perf_hooks';
import { runQuorumFuzz, type QuorumFuzzStats } from '../test/fuzz/harness/quorum-fuzzer.js';
import { runSocketFuzz } from '../test/fuzz/harness/quorum-socket-fuzz.js';

const framesTotal = Number(process.argv[2] ?? 1_000_000);
const firstSeed = Number(process.argv[3] ?? 1);
const socketFrames = Number(process.env['ZKTS_FUZZ_SOCKET_FRAMES'] ?? 20_000);
const perSeed = 100_000;

const total: QuorumFuzzStats = {
  frames: 0, refusedByCodec: 0, refusedByDriver: 0, stepped: 0, rejected: 0, otherDecoded: 0,
  delivered: 0, roleChanges: 0, crashes: 0, firstCrash: null,
};
const started = performance.now();
for (let seed = firstSeed; total.frames < framesTotal; seed++) {
  const s = runQuorumFuzz({ seed, frames: Math.min(perSeed, framesTotal - total.frames) });
  for (const k of Object.keys(total) as (keyof QuorumFuzzStats)[]) {
    if (k === 'firstCrash') total.firstCrash ??= s.firstCrash;
    else total[k] += s[k];
  }
  const secs = (performance.now() - started) / 1000;
  console.log(`seed ${seed}: ${total.frames} frames, ${Math.round(total.frames / secs)} frames/s, crashes=${total.crashes}`);
}
const secs = (performance.now() - started) / 1000;
console.log('\nin-process:', JSON.stringify({ ...total, seconds: Number(secs.toFixed(1)), framesPerSecond: Math.round(total.frames / secs) }, null, 1));

const socketStarted = performance.now();
const sock = await runSocketFuzz(firstSeed, socketFrames);
const socketSecs = (performance.now() - socketStarted) / 1000;
console.log('sockets:', JSON.stringify({ ...sock, seconds: Number(socketSecs.toFixed(1)), framesPerSecond: Math.round(sock.frames / socketSecs) }, null, 1));
const crashed = total.crashes > 0 || !sock.servedAfter;
console.log(`\nframes=${total.frames + sock.frames} crashes=${total.crashes}${sock.servedAfter ? '' : ' (the transport stopped serving after the socket run)'}`);
if (total.firstCrash !== null) console.log(`first crash: ${total.firstCrash}`);
process.exit(crashed ? 1 : 0);
