// Which server the interop suites drive, and which ports each suite may use.
//
//   ZKTS_TEST_TARGET=zkts    (default) node <repo>/bin/zkts.js server <zoo.cfg>
//   ZKTS_TEST_TARGET=apache  Apache ZooKeeper 3.8 (Debian package), run in the foreground
//
// Ports: every suite owns a block of 100 ports starting at its base (see SUITE_PORTS); a
// server inside the block takes base + 10*i, so a server may also use the nine ports after its
// client port (Apache run as a one-member ensemble binds port+1 and port+2 for quorum and
// election). All ports stay within 20000-23999, below the ephemeral range (32768+).
// ZKTS_TEST_PORT_SHIFT (a multiple of 1000, 0..2000) moves every block, so that two runs
// (say zkts and apache) can go on side by side.

import type { ServerKind } from './server.js';

export const PORT_MIN = 20000;
export const PORT_MAX = 23999;

/** One block of 100 ports per suite file. */
export const SUITE_PORTS = {
  fourletter: 21000,
  badinput: 21100,
  sessions: 21200,
  kazoo: 21300,
  nzk: 21400,
  zkcli: 21500,
  nodeVersions: 21600,
  crash: 21700,
  localFlag: 21800,
  inspect: 21900,
  curator: 22000,
  cclient: 22100,
  ensemble: 22200,
  ensembleCli: 22300,
  ensembleSync: 22400,
  ensembleFailover: 22500,
  ensembleCrash: 22600,
  advStorage: 22800,
  advAcl: 23300,
  advRules: 22900,
  advReplies: 22700,
  advSessions: 23000,
  advThrottle: 23200,
  advQuorum: 23100,
  advFuzz: 23400,
  herd: 23500,
  leanProcess: 23600,
  loadLean: 23700,
  // issue 12, the operator's face (their HTTP ports too: admin, metrics, WebSocket)
  adminServer: 20000,
  prometheus: 20100,
  clientTls: 20200,
  webSocket: 20300,
  statusPage: 20400,
  // issue 11, observer masters that hang (SIGSTOP)
  observerMasterLiveness: 20500,
} as const;
export type SuiteName = keyof typeof SUITE_PORTS;

export function targetKind(): ServerKind {
  const v = process.env['ZKTS_TEST_TARGET'] ?? 'zkts';
  if (v !== 'zkts' && v !== 'apache') {
    throw new Error(`ZKTS_TEST_TARGET must be 'zkts' or 'apache', not '${v}'`);
  }
  return v;
}

export function isApache(): boolean {
  return targetKind() === 'apache';
}

function portShift(): number {
  const raw = process.env['ZKTS_TEST_PORT_SHIFT'];
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n % 1000 !== 0 || n > 2000) {
    throw new Error(`ZKTS_TEST_PORT_SHIFT must be 0, 1000 or 2000, not '${raw}'`);
  }
  return n;
}

/**
 * The client port of the i-th server (i = 0..9) of a suite whose block starts at `base`.
 * `base` is normally SUITE_PORTS[name], but any base in range works.
 */
export function suitePort(base: number, i = 0): number {
  if (!Number.isInteger(i) || i < 0 || i > 9) throw new Error(`server index ${i} out of 0..9`);
  const p = base + portShift() + 10 * i;
  if (p < PORT_MIN || p + 9 > PORT_MAX) {
    throw new Error(`port ${p} outside ${PORT_MIN}-${PORT_MAX}`);
  }
  return p;
}
