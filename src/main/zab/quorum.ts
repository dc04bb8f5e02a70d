// Majority arithmetic over the voting members (observers never count).

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** True when `ids` (distinct, all voters) form a majority of `voters`. */
export function isQuorum(ids: Iterable<number>, voters: readonly number[]): boolean {
  let count = 0;
  const seen = new Set<number>();
  for (const id of ids) {
    if (!seen.has(id) && voters.includes(id)) {
      seen.add(id);
      count += 1;
    }
  }
  return count >= quorumSize(voters.length);
}

/** ZooKeeper's QuorumVerifier: which sets of voters form a quorum (majority by default;
 * hierarchical or weighted quorums can plug in here). */
export interface QuorumVerifier {
  containsQuorum(ids: Iterable<number>): boolean;
}

export function majorityVerifier(voters: readonly number[]): QuorumVerifier {
  return { containsQuorum: (ids) => isQuorum(ids, voters) };
}
