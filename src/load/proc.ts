// Reading a local server's memory from /proc (Linux): the resident set of a process and all its
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
