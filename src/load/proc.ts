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
