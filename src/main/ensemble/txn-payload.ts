// A proposal's payload as a learner receives it (PROPOSAL / INFORM): a jute TxnHeader + Txn,
// checked before the Zab core logs it. A payload that does not decode, leaves bytes over, or
// names another zxid than its message cannot be persisted or applied: the driver closes the
// leader's connection instead (it would otherwise throw while persisting, on the main thread).

import { zxidHex } from '../../common/ids.js';
import { JuteReader, decodeTxn, decodeTxnHeader } from '../../protocol/jute/index.js';
import type { PreparedTxn } from '../pipeline/prep.js';

/** The decoded txn, or why the payload is impossible for a proposal at `zxid`. */
export function decodeProposalPayload(zxid: number, payload: Uint8Array, reader: JuteReader = new JuteReader()): PreparedTxn | string {
  let txn: PreparedTxn;
  try {
    const r = reader.reset(payload, 0, payload.length);
    const hdr = decodeTxnHeader(r);
    txn = { hdr, txn: decodeTxn(hdr.type, r) };
    if (r.remaining !== 0) return `${r.remaining} bytes after the txn`;
  } catch (e) {
    return `payload does not decode: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (txn.hdr.zxid !== zxid) return `payload is the txn of ${zxidHex(txn.hdr.zxid)}`;
  return txn;
}
