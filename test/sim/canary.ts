// Deliberately broken core variants: the simulator's checkers must catch them (TigerBeetle's
// canary: a test of the tester). They live in the test tree, never in src/.

import { ZabPeer } from '../../src/main/zab/peer.js';
import type { Ready } from '../../src/main/zab/messages.js';
import { quorumSize } from '../../src/main/zab/quorum.js';
import type { PeerFactory } from './sim.js';

/** Acks (proposal ACKs, ACKEPOCH, ACKNEWLEADER) leave before the disk has them: ZOOKEEPER-3911. */
class AckBeforePersistPeer extends ZabPeer {
  override ready(): Ready {
    const ready = super.ready();
    return { ...ready, sendNow: [...ready.sendNow, ...ready.sendAfterPersist], sendAfterPersist: [] };
  }
}

export const ackBeforePersist: PeerFactory = (c, s, log, prng) => new AckBeforePersistPeer({ config: c, persisted: s, log, prng });

/** A quorum verifier that counts the local server twice: a leader commits with one ack short. */
export const leaderCountedTwice: PeerFactory = (c, s, log, prng) =>
  new ZabPeer({
    config: {
      ...c,
      quorum: {
        containsQuorum(ids) {
          const set = new Set([...ids].filter((id) => c.voters.includes(id)));
          return set.size + (set.has(c.id) ? 1 : 0) >= quorumSize(c.voters.length);
        },
      },
    },
    persisted: s,
    log,
    prng,
  });
