// Operator tools over a data directory, the jobs of ZooKeeper's LogFormatter / TxnLogToolkit
// (`zkts log <file>`), SnapshotFormatter (`zkts snapshot <file>`) and a dry run of recovery that
// reports every damaged file and every hole (`zkts check <dataDir> [dataLogDir]`). Read-only:
// nothing here changes a file. Synchronous: these run as command-line tools, not in the server.

import { readdirSync, readFileSync } from 'node:fs';
import { sessionIdHex, zxidHex } from '../../common/ids.js';
import { OpCode, opName } from '../../common/zk.js';
import type { ACL, Txn, TxnHeader } from '../../protocol/types.js';
import type { PersistedNode } from '../tree/data-tree.js';
import { isStorageError } from './errors.js';
import {
  dataFiles,
  logFilePrefix,
  logsFrom,
  snapshotFilePrefix,
  versionDir,
  zxidFromName,
  type DataFile,
} from './layout.js';
import {
  isDamaged,
  LogStop,
  scanLog,
  validRecordAfter,
  zxidFollows,
  type LogScan,
} from './log-format.js';
import { parseSnapshot, verifySeals, type SnapshotSeal } from './snapshot-format.js';

/** Data shown as text when it is printable UTF-8, else as hex, cut at this many bytes. */
const dataShownBytesMax = 256;

// ---- zkts log <file> ---------------------------------------------------------------------------

/** LogFormatter: one line per txn (time, session, cxid, zxid, type, details), then how it ends. */
export function formatLog(file: string): string {
  const bytes = readFileSync(file);
  const lines: string[] = [];
  let scan: LogScan;
  try {
    scan = scanLog(bytes, file, (hdr, txn) => lines.push(formatTxnLine(hdr, txn)));
  } catch (e) {
    if (!isStorageError(e)) throw e;
    return [...lines, `ERROR: ${e.message}`, ''].join('\n');
  }
  const head =
    scan.header === null
      ? `${file}: no file header (created, never written)`
      : `ZooKeeper Transactional Log File with dbid ${scan.header.dbid} txnlog format version ` +
        `${scan.header.version}`;
  return [head, ...lines, describeEnd(scan), ''].join('\n');
}

/** One txn as LogFormatter prints it (ISO time instead of the JVM locale's format). */
export function formatTxnLine(hdr: TxnHeader, txn: Txn): string {
  return (
    `${timeOf(hdr.time)} session ${sessionIdHex(BigInt.asUintN(64, hdr.clientId))} ` +
    `cxid 0x${(hdr.cxid >>> 0).toString(16)} zxid ${zxidHex(hdr.zxid)} ${opName(hdr.type)} ` +
    formatTxn(txn)
  );
}

function describeEnd(scan: LogScan): string {
  if (scan.stop === LogStop.end) return `EOF reached after ${scan.records} txns.`;
  if (scan.stop === LogStop.noHeader) return 'EOF reached after 0 txns (no header).';
  return (
    `DAMAGED after ${scan.records} txns: ${scan.stop} at offset ${scan.stopOffset} ` +
    `(${scan.detail}); the last good record ends at ${scan.goodEnd}`
  );
}

/** TxnLogToolkit.getFormattedTxnStr's fields, comma-separated. */
function formatTxn(t: Txn): string {
  switch (t.type) {
    case OpCode.create:
      return `${t.path},${dataOf(t.data)},${aclOf(t.acl)},${t.ephemeral},${t.parentCVersion}`;
    case OpCode.createContainer:
      return `${t.path},${dataOf(t.data)},${aclOf(t.acl)},${t.parentCVersion}`;
    case OpCode.createTTL:
      return `${t.path},${dataOf(t.data)},${aclOf(t.acl)},${t.parentCVersion},${t.ttl}`;
    case OpCode.delete:
    case OpCode.deleteContainer:
      return t.path;
    case OpCode.setData:
      return `${t.path},${dataOf(t.data)},${t.version}`;
    case OpCode.check:
      return `${t.path},${t.version}`;
    case OpCode.setACL:
      return `${t.path},${aclOf(t.acl)},${t.version}`;
    case OpCode.createSession:
      return `${t.timeOut}`;
    case OpCode.closeSession:
      return t.paths2Delete.join(',');
    case OpCode.error:
      return `${t.err}`;
    case OpCode.multi:
      return t.txns.map((s) => `${opName(s.type)}:${formatTxn(s)}`).join(';');
  }
}

function timeOf(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms}` : d.toISOString();
}

function dataOf(data: Uint8Array | null): string {
  if (data === null || data.length === 0) return '';
  const shown = data.subarray(0, dataShownBytesMax);
  const more = data.length > shown.length ? `...(${data.length} bytes)` : '';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(shown);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to spot control characters
  if (!text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) return text + more;
  return `#${Buffer.from(shown).toString('hex')}${more}`;
}

function aclOf(acl: readonly ACL[]): string {
  return `[${acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).join(' ')}]`;
}

// ---- zkts snapshot <file> ----------------------------------------------------------------------

interface SnapshotListing {
  sessions: { id: bigint; timeoutMs: number }[];
  acls: Map<number, ACL[]>;
  nodes: { path: string; node: PersistedNode }[];
}

/** SnapshotFormatter: every znode with its stat, the sessions, the zxid, digest and checksum. */
export function formatSnapshot(file: string): string {
  const bytes = readFileSync(file);
  const seals = verifySeals(bytes);
  const listing: SnapshotListing = { sessions: [], acls: new Map(), nodes: [] };
  let bodyEnd = -1;
  const out: string[] = [];
  try {
    bodyEnd = parseSnapshot(bytes, file, {
      session: (id, timeoutMs) => listing.sessions.push({ id, timeoutMs }),
      acl: (id, acl) => listing.acls.set(id, acl),
      node: (path, node) => listing.nodes.push({ path: path === '' ? '/' : path, node }),
    });
  } catch (e) {
    if (!isStorageError(e)) throw e;
    out.push(`ERROR: ${e.message}`);
  }
  out.push(`ZNode Details (count=${listing.nodes.length}):`);
  for (const { path, node } of listing.nodes) out.push('----', ...formatNode(path, node));
  out.push('----', ...formatSessions(listing), '----');
  const zxid = zxidFromName(basenameOf(file), snapshotFilePrefix);
  out.push(`Last zxid: ${zxid < 0 ? 'unknown (not a snapshot.<zxid> name)' : zxidHex(zxid)}`);
  out.push(...formatSeal(seals, bodyEnd), '');
  return out.join('\n');
}

function formatNode(path: string, n: PersistedNode): string[] {
  return [
    path,
    `  cZxid = ${zxidHex(n.czxid)}`,
    `  ctime = ${timeOf(n.ctime)}`,
    `  mZxid = ${zxidHex(n.mzxid)}`,
    `  mtime = ${timeOf(n.mtime)}`,
    `  pZxid = ${zxidHex(n.pzxid)}`,
    `  cversion = ${n.cversion}`,
    `  dataVersion = ${n.version}`,
    `  aclVersion = ${n.aversion}`,
    `  ephemeralOwner = ${sessionIdHex(BigInt.asUintN(64, n.ephemeralOwner))}`,
    `  dataLength = ${n.data === null ? 0 : n.data.length}`,
    `  acl = ${n.aclId}`,
  ];
}

function formatSessions(listing: SnapshotListing): string[] {
  const ephemerals = new Map<bigint, number>();
  for (const { node } of listing.nodes) {
    if (node.ephemeralOwner !== 0n) {
      ephemerals.set(node.ephemeralOwner, (ephemerals.get(node.ephemeralOwner) ?? 0) + 1);
    }
  }
  const lines = [`Session Details (sid, timeout, ephemeralCount):`];
  for (const s of listing.sessions) {
    const count = ephemerals.get(BigInt.asIntN(64, s.id)) ?? 0;
    lines.push(`${sessionIdHex(BigInt.asUintN(64, s.id))}, ${s.timeoutMs}, ${count}`);
  }
  lines.push('----', `ACLs (count=${listing.acls.size}):`);
  for (const [id, acl] of listing.acls) lines.push(`${id}: ${aclOf(acl)}`);
  return lines;
}

function formatSeal(seals: SnapshotSeal[], bodyEnd: number): string[] {
  const seal = seals.find((s) => s.bodyEnd === bodyEnd);
  if (seal === undefined) return ['Checksum: DAMAGED (seal or Adler-32 does not verify)'];
  const lines = ['Checksum: ok (Adler-32)'];
  if (seal.digest !== null) {
    const d = seal.digest;
    lines.push(`Digest: zxid ${zxidHex(d.zxid)}, version ${d.version}, value ${d.digest}`);
  }
  return lines;
}

function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

// ---- zkts check <dataDir> [dataLogDir] ---------------------------------------------------------

export interface CheckReport {
  /** True when recovery would start without refusing (it may still truncate a torn tail). */
  recoverable: boolean;
  /** Every damaged file and hole found. */
  problems: string[];
  text: string;
}

/** What recovery would find: each snapshot and log checked, the chain from the newest good
 *  snapshot through the log followed for holes. */
export function checkDataDir(dataDir: string, dataLogDir: string = dataDir): CheckReport {
  const snapDir = versionDir(dataDir);
  const logDir = versionDir(dataLogDir);
  const problems: string[] = [];
  const lines: string[] = [];
  const snaps = dataFiles(snapDir, readdirSync(snapDir), snapshotFilePrefix).reverse();
  let base: { file: DataFile; seal: SnapshotSeal } | null = null;
  for (const s of snaps) {
    const checked = checkSnapshot(s);
    lines.push(`${s.path}: ${checked.text}`);
    if (checked.seal === null) problems.push(`${s.path}: ${checked.text}`);
    else if (base === null) base = { file: s, seal: checked.seal };
  }
  const logs = dataFiles(logDir, readdirSync(logDir), logFilePrefix);
  const scans = logs.map((l) => checkLog(l, lines, problems));
  let recoverable = true;
  if (snaps.length > 0 && base === null) {
    problems.push('no valid snapshot: recovery refuses to start');
    recoverable = false;
  } else {
    recoverable = followChain(base, logs, scans, lines, problems);
  }
  lines.push(
    recoverable
      ? `recoverable: yes${problems.length > 0 ? ' (after the repairs noted)' : ''}`
      : 'recoverable: NO',
  );
  return { recoverable, problems, text: `${lines.join('\n')}\n` };
}

function checkSnapshot(s: DataFile): { seal: SnapshotSeal | null; text: string } {
  const bytes = readFileSync(s.path);
  const seals = verifySeals(bytes);
  if (seals.length === 0) return { seal: null, text: 'DAMAGED: checksum or seal does not verify' };
  let nodes = 0;
  let sessions = 0;
  try {
    const end = parseSnapshot(bytes, s.path, {
      session: () => void sessions++,
      acl: () => undefined,
      node: () => void nodes++,
    });
    const seal = seals.find((x) => x.bodyEnd === end);
    if (seal === undefined) return { seal: null, text: `DAMAGED: body ends at ${end}, no seal` };
    const digest = seal.digest === null ? 'no digest' : `digest at ${zxidHex(seal.digest.zxid)}`;
    return { seal, text: `ok (${nodes} nodes, ${sessions} sessions, ${digest})` };
  } catch (e) {
    if (!isStorageError(e)) throw e;
    return { seal: null, text: `DAMAGED: ${e.message}` };
  }
}

interface CheckedLog {
  scan: LogScan | null;
  zxids: number[];
  /** Where a valid record follows the damage in the same file (corruption, not a torn tail),
   *  or -1. */
  validAfter: number;
}

function checkLog(l: DataFile, lines: string[], problems: string[]): CheckedLog {
  const zxids: number[] = [];
  try {
    const bytes = readFileSync(l.path);
    const scan = scanLog(bytes, l.path, (hdr) => void zxids.push(hdr.zxid));
    const range = scan.records > 0 ? ` ${zxidHex(scan.firstZxid)}..${zxidHex(scan.lastZxid)}` : '';
    lines.push(`${l.path}: ${scan.records} txns${range}, ${describeEnd(scan)}`);
    const validAfter = isDamaged(scan) ? validRecordAfter(bytes, scan.goodEnd + 1) : -1;
    if (validAfter >= 0) {
      lines.push(
        `  CORRUPT at offset ${scan.goodEnd}: a valid record follows the damage (at offset ` +
          `${validAfter}), so it is not a torn tail; recovery refuses and truncates nothing`,
      );
      problems.push(
        `${l.path}: corrupt at offset ${scan.goodEnd} (${scan.stop}), valid records follow ` +
          `from offset ${validAfter}: recovery refuses (nothing is truncated)`,
      );
    } else if (isDamaged(scan)) {
      problems.push(`${l.path}: ${scan.stop} at offset ${scan.stopOffset}`);
    }
    if (scan.outOfOrder > 0) {
      lines.push(`  note: ${scan.outOfOrder} txns do not follow the zxid order (replay skips them)`);
    }
    if (scan.records > 0 && scan.firstZxid !== l.zxid) {
      lines.push(`  note: first txn ${zxidHex(scan.firstZxid)} differs from the file name`);
    }
    return { scan, zxids, validAfter };
  } catch (e) {
    if (!isStorageError(e)) throw e;
    lines.push(`${l.path}: UNREADABLE: ${e.message}`);
    problems.push(`${l.path}: ${e.message}`);
    return { scan: null, zxids, validAfter: -1 };
  }
}

/** Follows the zxids from the snapshot through the logs recovery would read. */
function followChain(
  base: { file: DataFile; seal: SnapshotSeal } | null,
  logs: DataFile[],
  scans: CheckedLog[],
  lines: string[],
  problems: string[],
): boolean {
  const startZxid = base?.file.zxid ?? 0;
  const wanted = new Set(logsFrom(logs, startZxid).map((l) => l.path));
  let applied = startZxid;
  let first = base === null;
  let ok = true;
  for (let i = 0; i < logs.length && ok; i++) {
    const log = logs[i] as DataFile;
    const checked = scans[i] as CheckedLog;
    if (!wanted.has(log.path)) continue;
    if (checked.scan === null) return false;
    for (const zxid of checked.zxids) {
      if (zxid <= applied) continue;
      if (!zxidFollows(applied, zxid, first)) {
        problems.push(`gap: after ${zxidHex(applied)} comes ${zxidHex(zxid)} (${log.path})`);
        return false;
      }
      applied = zxid;
      first = false;
    }
    const laterRecords = scans.slice(i + 1).some((s) => (s.scan?.records ?? 0) > 0);
    if (checked.validAfter >= 0) {
      ok = false; // reported by checkLog
    } else if (isDamaged(checked.scan) && laterRecords) {
      problems.push(`${log.path}: damage before later records: recovery refuses`);
      ok = false;
    }
  }
  const digestZxid = base?.seal.digest?.zxid ?? 0;
  if (ok && digestZxid > applied) {
    problems.push(
      `gap: the log ends at ${zxidHex(applied)}, the snapshot saw ${zxidHex(digestZxid)}`,
    );
    return false;
  }
  const from = base === null ? 'an empty tree' : base.file.path;
  if (ok) lines.push(`recovery: ${from}, then the log up to ${zxidHex(applied)}`);
  return ok;
}
