// What the parsed zoo.cfg means to the Zab core: this member's ZabConfig, with tickTime split
// into Zab ticks and every limit scaled to match. Pure: no I/O.

import { ensembleObserverMasters, type ServerConfig } from '../config.js';
import type { ZabConfig } from '../zab/peer.js';
import { electionTicksMin, electionTimeoutMs, finalizeWaitMs, syncLimitTicksMin, zabTickMsMax } from './limits.js';

/**
 * Zab ticks per tickTime. The core counts Zab ticks of at most zabTickMsMax (tickTime split in
 * this many parts), and every limit is scaled to match: an election decides a Zab tick after a
 * quorum agrees (ZooKeeper's finalizeWait is a fixed 200 ms) and rounds repeat every ~400 ms,
 * whatever the tickTime; with tickTime-sized steps a failover would take seconds.
 */
export function zabTicksPerTickTime(tickTimeMs: number): number {
  return Math.max(1, Math.round(tickTimeMs / zabTickMsMax));
}

/** The Zab core's config for member `myId`; throws if zoo.cfg has no server line for it. */
export function zabConfigOf(cfg: ServerConfig, myId: number): ZabConfig {
  const voters = cfg.servers.filter((s) => s.role === 'participant').map((s) => s.id);
  const observers = cfg.servers.filter((s) => s.role === 'observer').map((s) => s.id);
  if (!cfg.servers.some((s) => s.id === myId)) throw new Error(`myid ${myId} has no server.${myId} line`);
  const perTick = zabTicksPerTickTime(cfg.tickTimeMs);
  const zabTickMs = cfg.tickTimeMs / perTick;
  return {
    id: myId,
    voters,
    observers,
    initLimitTicks: Math.max(syncLimitTicksMin, cfg.initLimitTicks * perTick),
    syncLimitTicks: Math.max(syncLimitTicksMin, cfg.syncLimitTicks * perTick),
    electionTimeoutTicks: Math.max(electionTicksMin, Math.ceil(electionTimeoutMs / zabTickMs)),
    // finalizeWait (ensemble/limits.ts): a member a moment late is not left out of an election.
    finalizeWaitTicks: Math.max(electionTicksMin, Math.ceil(finalizeWaitMs / zabTickMs)),
    observerMasters: ensembleObserverMasters(cfg),
  };
}
