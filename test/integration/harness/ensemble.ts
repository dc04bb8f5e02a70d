// Helpers shared by the ensemble suites: a member's role, and waiting for a condition.

import { fourLetter, type ServerHandle } from './server.js';

/** The member's role as `srvr` reports it (leader, follower, observer, ...), or null. */
export async function memberMode(port: number): Promise<string | null> {
  try {
    return /Mode: (\w+)/.exec(await fourLetter(port, 'srvr', 1000))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Polls `f` every 100 ms until it returns something other than undefined (errors count as
 * "not yet"); rejects after `ms` with the last error.
 */
export async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the live members report exactly one leader and the rest followers. */
export async function leaderOf(live: ServerHandle[]): Promise<ServerHandle> {
  return eventually('a leader and followers', async () => {
    const modes = await Promise.all(live.map((s) => memberMode(s.port)));
    const leaders = live.filter((_, i) => modes[i] === 'leader');
    if (leaders.length === 1 && modes.filter((m) => m === 'follower').length === live.length - 1) return leaders[0];
    return undefined;
  });
}
