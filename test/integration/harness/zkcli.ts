// Runs Apache ZooKeeper's Java command-line client (zkCli.sh, org.apache.zookeeper.ZooKeeperMain).
//
// Two forms:
//   zkcli(server, ['get', '-s', '/a'])   one command, non-interactive (`zkCli.sh -server hp cmd args`)
//   zkcliScript(server, [...lines])      several commands in one JVM, fed on stdin (JLine is off
//                                        when stdin is not a terminal, so lines are read plainly);
//                                        a line {sleepMs: n} pauses the feed, so that watch
//                                        notifications (printed as "WATCHER::") can arrive
//
// `out` is the output without the JVM/SLF4J noise, the "Connecting to"/"Welcome" banner, blank
// lines, "WATCHER::" markers, the first connection event and the Closed event (see cleanOutput);
// `raw` has everything.

import { spawn } from 'node:child_process';

export const ZKCLI = process.env['ZKTS_ZKCLI'] ?? '/usr/share/zookeeper/bin/zkCli.sh';

export interface ZkCliResult {
  code: number | null;
  /** stdout+stderr without noise, trimmed */
  out: string;
  /** stdout+stderr as printed */
  raw: string;
}

const NOISE = [
  /^SLF4J: .*$/,
  /^Connecting to .*$/,
  /^Welcome to ZooKeeper!$/,
  /^JLine support is (disabled|enabled)$/,
  /^\[.*\] (INFO|WARN|DEBUG) .*$/,
  /^log4j:.*$/,
];

export function cleanOutput(raw: string): string {
  // The Java client prints watch events from its event thread ("WATCHER::", a blank line, then
  // "WatchedEvent ..."), which can interleave with the command output of the main thread. So
  // the marker and blank lines are dropped line by line, as are the first connection event and
  // the final Closed event; every other WatchedEvent line stays.
  let connectedSeen = false;
  const lines = raw.split('\n').filter((l) => {
    if (NOISE.some((re) => re.test(l))) return false;
    if (l === 'WATCHER::' || l.trim() === '') return false;
    if (l === 'WatchedEvent state:SyncConnected type:None path:null' && !connectedSeen) {
      connectedSeen = true;
      return false;
    }
    if (l === 'WatchedEvent state:Closed type:None path:null') return false;
    return true;
  });
  return lines.join('\n').trim();
}

function run(args: string[], stdinLines: Array<ScriptStep> | null, timeoutMs: number): Promise<ZkCliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(ZKCLI, args, {
      stdio: [stdinLines === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ZOO_LOG4J_PROP: 'WARN,CONSOLE', CLIENT_JVMFLAGS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' },
    });
    let raw = '';
    child.stdout?.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zkCli.sh ${args.join(' ')} timed out after ${timeoutMs} ms; output:\n${raw}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, out: cleanOutput(raw), raw });
    });
    if (stdinLines !== null && child.stdin !== null) {
      const stdin = child.stdin;
      stdin.on('error', () => {
        // zkCli exited before reading everything; the output says why
      });
      void (async () => {
        for (const l of stdinLines) {
          if (typeof l === 'string') stdin.write(l + '\n');
          else if ('until' in l) await l.until.catch(() => undefined);
          else await new Promise((r) => setTimeout(r, l.sleepMs));
        }
        stdin.end();
      })();
    }
  });
}

/** A line for zkCli's stdin, a pause, or a pause until the test says so (e.g. its writes are done). */
export type ScriptStep = string | { sleepMs: number } | { until: Promise<unknown> };

/** One command, non-interactive. */
export function zkcli(server: string, command: string[], timeoutMs = 20000): Promise<ZkCliResult> {
  return run(['-server', server, ...command], null, timeoutMs);
}

/**
 * Several commands in one session. End with 'quit' to close the session explicitly (otherwise
 * zkCli exits at the end of stdin, which also closes the session).
 */
export function zkcliScript(server: string, lines: Array<ScriptStep>, timeoutMs = 30000): Promise<ZkCliResult> {
  return run(['-server', server], lines, timeoutMs);
}
