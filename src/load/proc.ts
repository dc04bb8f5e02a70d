// Reading a local process from /proc (Linux): the resident set and CPU of a process and all its
// descendants (zkts on Node 20 runs as a launcher plus the server process; Java as one process).

import fs from 'node:fs';

function children(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (s !== '') for (const c of s.split(/\s+/)) out.push(Number(c));
    } catch {
      // gone, or no children file
    }
  }
  return out;
}

/** VmRSS of one process in bytes, or null if it cannot be read. */
export function processRss(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** VmRSS of the process and its descendants (bounded walk), or null if the process is unreadable. */
export function treeRss(pid: number): number | null {
  const root = processRss(pid);
  if (root === null) return null;
  let total = root;
  const seen = new Set<number>([pid]);
  const queue = children(pid);
  while (queue.length > 0 && seen.size < 256) {
    const p = queue.shift() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    total += processRss(p) ?? 0;
    queue.push(...children(p));
  }
  return total;
}

/** The pids of a process and its descendants (bounded walk), the process first. */
export function treePids(pid: number): number[] {
  const out = [pid];
  const seen = new Set<number>([pid]);
  const queue = children(pid);
  while (queue.length > 0 && seen.size < 256) {
    const p = queue.shift() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
    queue.push(...children(p));
  }
  return out;
}

/** utime + stime of one process (all its threads), in clock ticks, or null if unreadable. */
export function processCpuTicks(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after "(comm)": state is field 3, utime 14, stime 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

/** utime + stime of a process and its descendants, in clock ticks, or null if the process is
 *  unreadable. */
export function treeCpuTicks(pid: number): number | null {
  if (processCpuTicks(pid) === null) return null;
  let total = 0;
  for (const p of treePids(pid)) total += processCpuTicks(p) ?? 0;
  return total;
}

/** The socket inodes listening on a TCP port (/proc/net/tcp and tcp6: state 0A is LISTEN). */
function listeningInodes(port: number): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = cols[1];
      if (local === undefined || cols[3] !== '0A') continue;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9] !== undefined) out.add(cols[9]);
    }
  }
  return out;
}

function parentPid(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** The process listening on a local TCP port, or null: the processes holding a listening socket
 *  of that port (found through /proc/<pid>/fd), the topmost of them when several share it (a
 *  launcher that passed its socket on). Only processes this user may read are seen. */
export function listeningPid(port: number): number | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  const found: number[] = [];
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const p of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = fs.readlinkSync(`/proc/${p}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m !== null && inodes.has(m[1]!)) {
        found.push(Number(p));
        break;
      }
    }
  }
  if (found.length === 0) return null;
  const set = new Set(found);
  return found.find((p) => !set.has(parentPid(p))) ?? found[0]!;
}

/** Time on a CPU of one process's live threads in ns (each thread's /proc schedstat), or null if
 *  unreadable. Finer than processCpuTicks (10 ms ticks: ±7% of a 140 ms fan-out), but a thread
 *  that exits takes its time with it: for short windows in which the threads stay. */
export function processCpuNs(pid: number): number | null {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let total = 0;
  for (const t of tasks) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8');
      total += Number(s.slice(0, s.indexOf(' ')));
    } catch {
      // a thread that ended
    }
  }
  return total;
}

/** processCpuNs of a process and its descendants, or null if the process is unreadable. */
export function treeCpuNs(pid: number): number | null {
  if (processCpuNs(pid) === null) return null;
  let total = 0;
  for (const p of treePids(pid)) total += processCpuNs(p) ?? 0;
  return total;
}

/** CPU time the whole machine spent busy (all CPUs: user, nice, system, irq, softirq, steal from
 *  the first line of /proc/stat), in clock ticks, or null where /proc/stat cannot be read. Less
 *  the CPU of the processes a benchmark knows, it is the CPU of everything else on the machine in
 *  the same window. */
export function machineBusyTicks(): number | null {
  try {
    const cols = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    if (cols[0] !== 'cpu') return null;
    const [user, nice, system, , , irq, softirq, steal] = cols.slice(1, 9).map(Number);
    return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  } catch {
    return null;
  }
}
