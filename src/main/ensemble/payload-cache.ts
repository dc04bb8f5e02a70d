// Proposal payloads (a PreparedTxn as jute TxnHeader + Txn) and the txns decoded from them, kept
// from the log until applied, so that each payload is decoded once, not once to persist and again
// to apply.

import { SlabAllocator } from '../../common/slab.js';
import { JuteReader, JuteWriter, decodeTxn, decodeTxnHeader, encodeTxn, encodeTxnHeader } from '../../protocol/jute/index.js';
import type { PreparedTxn } from '../pipeline/prep.js';
import { decodedTxnsMax, payloadWriterInitialBytes } from './limits.js';
import { decodeProposalPayload } from './txn-payload.js';

export class PayloadCache {
  private readonly writer = new JuteWriter(payloadWriterInitialBytes);
  private readonly reader = new JuteReader();
  /** Proposal payloads live in the log until it is trimmed, oldest first: slab-allocated. */
  private readonly payloads = new SlabAllocator();
  /**
   * Txns decoded (or, on the leader, prepared) for the log and not yet applied, by zxid. Entries
   * leave when applied, truncated or replaced by a snapshot; past decodedTxnsMax (a learner whose
   * leader went away with proposals uncommitted) the rest are decoded again at apply.
   */
  private readonly decoded = new Map<number, PreparedTxn>();
  /** Proposal payloads a learner received, decoded when they arrived (arrived()), by identity. */
  private readonly arrivedTxns = new WeakMap<Uint8Array, PreparedTxn>();

  /** The leader: `p`'s payload (carved from a slab), with `p` kept by zxid until applied. */
  propose(p: PreparedTxn): Uint8Array {
    const w = this.writer.reset();
    encodeTxnHeader(w, p.hdr);
    encodeTxn(w, p.txn);
    const payload = this.payloads.copy(w.bytes());
    this.decoded.set(p.hdr.zxid, p);
    return payload;
  }

  /**
   * A learner: a PROPOSAL or INFORM payload, decoded when it arrives, before the Zab core logs
   * it. Null when it can be persisted and applied (the txn is kept, by payload identity, for the
   * persist step); otherwise why not.
   */
  arrived(zxid: number, payload: Uint8Array): string | null {
    const txn = decodeProposalPayload(zxid, payload, this.reader);
    if (typeof txn === 'string') return txn;
    this.arrivedTxns.set(payload, txn);
    return null;
  }

  /** The persist step: the txn of an entry appended to the log, kept until it is applied. */
  logged(zxid: number, payload: Uint8Array): PreparedTxn {
    const kept = this.decoded.get(zxid);
    if (kept !== undefined) return kept;
    // A learner's txn decoded on arrival is kept by zxid too, so the apply step does not decode
    // the payload a second time.
    const txn = this.arrivedTxns.get(payload) ?? this.decode(payload);
    if (this.decoded.size < decodedTxnsMax) this.decoded.set(zxid, txn);
    return txn;
  }

  /** The apply step: the txn of a committed entry, which leaves the cache. */
  applied(zxid: number, payload: Uint8Array): PreparedTxn {
    const txn = this.decoded.get(zxid);
    if (txn !== undefined) this.decoded.delete(zxid);
    return txn ?? this.decode(payload);
  }

  /** TRUNC: the entries above `zxid` are gone from the log. */
  truncateAfter(zxid: number): void {
    for (const z of this.decoded.keys()) if (z > zxid) this.decoded.delete(z);
  }

  /** SNAP: a snapshot replaced the log. */
  clear(): void {
    this.decoded.clear();
  }

  /** Txns kept until applied (tests). */
  get size(): number {
    return this.decoded.size;
  }

  private decode(payload: Uint8Array): PreparedTxn {
    const r = this.reader.reset(payload, 0, payload.length);
    const hdr = decodeTxnHeader(r);
    const txn = decodeTxn(hdr.type, r);
    return { hdr, txn };
  }
}
