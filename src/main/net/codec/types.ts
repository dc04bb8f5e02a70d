// The quorum codec's shared part: the messages the transport carries besides the Zab core's own
// (the handshake's Hello, request forwarding), what a decoded frame is, the protocol's version and
// file identifier, and the error a malformed frame is.

import type { Msg, ServerState } from '../../zab/messages.js';
import * as fb from '../generated/quorum_generated.js';

/** Frame.version this build speaks; a peer with another one is refused at the handshake. */
/** A server state's code on the wire (schemas/quorum.fbs ServerState): the one table both ways. */
export const serverStateCodes: Readonly<Record<ServerState, fb.ServerState>> = {
  LOOKING: fb.ServerState.LOOKING,
  FOLLOWING: fb.ServerState.FOLLOWING,
  LEADING: fb.ServerState.LEADING,
  OBSERVING: fb.ServerState.OBSERVING,
};
/** The same table read from the wire: code → state (undefined for a code no state has). */
export const serverStateOfCode: ReadonlyMap<number, ServerState> = new Map(
  (Object.entries(serverStateCodes) as [ServerState, fb.ServerState][]).map(([state, code]) => [code, state]),
);

export const protocolVersion = 1;
export const fileIdentifier = 'ZKQ1';
/** Bytes of the length prefix in front of each frame on the wire (the shared frame reader's). */
export { framePrefixBytes } from '../../../protocol/frame-reader.js';

/** The transport's handshake (QuorumCnxManager's InitialMessage: the sender's sid). */
export interface Hello {
  readonly cluster: string;
  readonly sender: number;
  readonly receiver: number;
  /** The challenge (a quorum secret's handshake, transport.ts); empty without a secret. */
  readonly nonce: Uint8Array;
  /** The answer to the other side's challenge; empty without a secret. */
  readonly mac: Uint8Array;
}


/** One authenticated id of a session (ZooKeeper's Id). */
export interface ForwardAuthId {
  readonly scheme: string;
  readonly id: string;
}

/**
 * Request forwarding (not Zab messages: the driver handles them beside the Zab core).
 * REQUEST: learner → leader, a client write to order (Learner.request); the session id is the
 * unsigned 64-bit id (its top byte is the origin server's id, so it travels as a bigint).
 * REQUESTERROR: leader → learner, a REQUEST refused before it was proposed, or a forwarded sync
 * answered (err 0) with the zxid the learner must have applied before it answers its client.
 * TOUCH: learner → leader, each tick: the global sessions its clients touched.
 */
export type ForwardMsg =
  | {
      readonly type: 'REQUEST';
      readonly session: bigint;
      readonly cxid: number;
      readonly op: number;
      readonly body: Uint8Array;
      readonly authIds: readonly ForwardAuthId[];
      readonly timeoutMs: number;
      readonly local: boolean;
    }
  | {
      readonly type: 'REQUESTERROR';
      readonly session: bigint;
      readonly cxid: number;
      readonly err: number;
      /** A sync's answer (err 0): the leader's last proposed zxid; else 0. */
      readonly zxid: number;
    }
  | { readonly type: 'TOUCH'; readonly sessions: readonly bigint[] };

/** Everything the transport carries after the handshake. */
export type QuorumMsg = Msg | ForwardMsg;

export type DecodedFrame =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'message'; readonly msg: Msg }
  | { readonly kind: 'forward'; readonly msg: ForwardMsg }
  /** A leading piece of the next SNAP's data (transport.ts reassembles; never a Msg). */
  | { readonly kind: 'snapChunk'; readonly data: Uint8Array };

/** A frame that is not a well-formed Frame of this protocol version (an operating error). */
export class QuorumCodecError extends Error {
  readonly code = 'ZKTS_ERR_QUORUM_FRAME';
}
