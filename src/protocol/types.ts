// The records of zookeeper.jute (3.8) as TypeScript types. The codec (jute/records/) reads and
// writes exactly these. Conventions:
// - jute `long` is `number` where ZooKeeper keeps it below 2^53 (zxids, times, versions, TTLs);
//   the codec throws on a larger value. Session ids and ephemeralOwner are 64-bit with the server
//   id in the top byte, so they are `bigint`.
// - jute `buffer` is `Uint8Array | null` (a -1 length is null); `ustring` is `string | null` only
//   where ZooKeeper sends null, otherwise `string`.

import type { ACL } from '../common/acl.js';
import type { OpCodeOf } from '../common/zk.js';

// Id and ACL are declared in common/acl.ts, the leaf that checks them (common imports nothing of
// ours, so the declaration lives there and the protocol re-exports it).
export type { ACL, Id } from '../common/acl.js';

/**
 * StatPersisted: the znode record, declared once. The tree's node (tree/node.ts), an outstanding
 * change (pipeline/outstanding.ts), a snapshot's node record (tree/data-tree.ts PersistedNode) and
 * the digest's input (tree/digest.ts) are all this shape or derive from it.
 */
export interface StatPersisted {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
}

/** Stat: what a client sees of a node, StatPersisted plus two counts the node derives. The codec
 *  writes the jute field order (dataLength and numChildren before pzxid), not this one. */
export interface Stat extends StatPersisted {
  dataLength: number;
  numChildren: number;
}

// ---- handshake ----------------------------------------------------------------------------
export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  /** Trailing bool that 3.4+ clients send; absent from very old clients. */
  readOnly: boolean;
  /** zkts only: a trailing bool after readOnly asking for a local session. Stock clients never
   *  send it; the codec reads it only when bytes remain. */
  localSession: boolean;
}
export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly: boolean;
}

// ---- headers ------------------------------------------------------------------------------
export interface RequestHeader {
  xid: number;
  type: number;
}
export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}
/** Precedes each op of a multi request and each result of a multi response; a header with
 *  done=true (type -1, err -1) ends the list. `err` is the result's code for an error result, 0
 *  for other results, -1 in requests. */
export interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}
export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}

// ---- requests (body after RequestHeader) ---------------------------------------------------
export interface AuthPacket {
  type: number;
  scheme: string;
  auth: Uint8Array;
}
/** create, create2, createContainer */
export interface CreateRequest {
  path: string;
  data: Uint8Array | null;
  acl: ACL[];
  flags: number;
}
export interface CreateTTLRequest extends CreateRequest {
  ttl: number;
}
/** delete, deleteContainer (deleteContainer carries only the path) */
export interface DeleteRequest {
  path: string;
  version: number;
}
/** exists, getData, getChildren, getChildren2 */
export interface PathWatchRequest {
  path: string;
  watch: boolean;
}
export interface SetDataRequest {
  path: string;
  data: Uint8Array | null;
  version: number;
}
/** getACL, sync, getAllChildrenNumber, getEphemerals (prefixPath), deleteContainer */
export interface PathRequest {
  path: string;
}
export interface SetACLRequest {
  path: string;
  acl: ACL[];
  version: number;
}
export interface CheckVersionRequest {
  path: string;
  version: number;
}
export interface SetWatches {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}
export interface SetWatches2 extends SetWatches {
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export interface AddWatchRequest {
  path: string;
  mode: number;
}
/** removeWatches, checkWatches */
export interface RemoveWatchesRequest {
  path: string;
  type: number;
}

/** One op of a multi / multiRead. `op` is the OpCode of the sub-request. */
export type MultiOp =
  | { op: OpCodeOf<'create' | 'create2' | 'createContainer'>; req: CreateRequest }
  | { op: OpCodeOf<'createTTL'>; req: CreateTTLRequest }
  | { op: OpCodeOf<'delete'>; req: DeleteRequest }
  | { op: OpCodeOf<'setData'>; req: SetDataRequest }
  | { op: OpCodeOf<'check'>; req: CheckVersionRequest }
  | { op: OpCodeOf<'getData' | 'getChildren'>; req: PathWatchRequest }; // multiRead

/** A decoded client request body, tagged by opcode. */
export type ClientRequest =
  | { op: OpCodeOf<'create' | 'create2' | 'createContainer'>; req: CreateRequest }
  | { op: OpCodeOf<'createTTL'>; req: CreateTTLRequest }
  | { op: OpCodeOf<'delete'>; req: DeleteRequest }
  | {
      op: OpCodeOf<'deleteContainer' | 'getACL' | 'sync' | 'getAllChildrenNumber' | 'getEphemerals'>;
      req: PathRequest;
    }
  | { op: OpCodeOf<'exists' | 'getData' | 'getChildren' | 'getChildren2'>; req: PathWatchRequest }
  | { op: OpCodeOf<'setData'>; req: SetDataRequest }
  | { op: OpCodeOf<'setACL'>; req: SetACLRequest }
  | { op: OpCodeOf<'check'>; req: CheckVersionRequest }
  | { op: OpCodeOf<'multi' | 'multiRead'>; req: MultiOp[] }
  | { op: OpCodeOf<'setWatches'>; req: SetWatches }
  | { op: OpCodeOf<'setWatches2'>; req: SetWatches2 }
  | { op: OpCodeOf<'addWatch'>; req: AddWatchRequest }
  | { op: OpCodeOf<'checkWatches' | 'removeWatches'>; req: RemoveWatchesRequest }
  | { op: OpCodeOf<'auth'>; req: AuthPacket }
  | { op: OpCodeOf<'ping' | 'closeSession' | 'whoAmI'>; req: null };

// ---- responses ----------------------------------------------------------------------------
export interface CreateResponse {
  path: string;
}
export interface Create2Response {
  path: string;
  stat: Stat;
}
export interface ExistsResponse {
  stat: Stat;
}
export interface GetDataResponse {
  data: Uint8Array | null;
  stat: Stat;
}
export interface SetDataResponse {
  stat: Stat;
}
export interface GetACLResponse {
  acl: ACL[];
  stat: Stat;
}
export interface SetACLResponse {
  stat: Stat;
}
export interface GetChildrenResponse {
  children: string[];
}
export interface GetChildren2Response {
  children: string[];
  stat: Stat;
}
export interface SyncResponse {
  path: string;
}
export interface GetAllChildrenNumberResponse {
  totalNumber: number;
}
export interface GetEphemeralsResponse {
  ephemerals: string[];
}
export interface WhoAmIResponse {
  clientInfo: { authScheme: string; user: string }[];
}

/** One result of a multi / multiRead, as MultiResponse carries it. */
export type MultiResult =
  | { op: OpCodeOf<'create'>; path: string } // create (also createContainer/createTTL without stat)
  | { op: OpCodeOf<'create2'>; path: string; stat: Stat } // create2 / createTTL / createContainer
  | { op: OpCodeOf<'delete'> } // delete
  | { op: OpCodeOf<'setData'>; stat: Stat } // setData
  | { op: OpCodeOf<'check'> } // check
  | { op: OpCodeOf<'getData'>; data: Uint8Array | null; stat: Stat } // getData (multiRead)
  | { op: OpCodeOf<'getChildren'>; children: string[] } // getChildren (multiRead)
  | { op: OpCodeOf<'error'>; err: number }; // error

/** A reply body, tagged by the opcode it answers; `null` where the reply has no body. */
export type ClientResponse =
  | { op: OpCodeOf<'create'>; res: CreateResponse }
  // createContainer answers with Create2Response too (FinalRequestProcessor); a client that sent
  // it expecting CreateResponse just ignores the trailing stat.
  | { op: OpCodeOf<'create2' | 'createContainer' | 'createTTL'>; res: Create2Response }
  | { op: OpCodeOf<'exists'>; res: ExistsResponse }
  | { op: OpCodeOf<'getData'>; res: GetDataResponse }
  | { op: OpCodeOf<'setData'>; res: SetDataResponse }
  | { op: OpCodeOf<'getACL'>; res: GetACLResponse }
  | { op: OpCodeOf<'setACL'>; res: SetACLResponse }
  | { op: OpCodeOf<'getChildren'>; res: GetChildrenResponse }
  | { op: OpCodeOf<'getChildren2'>; res: GetChildren2Response }
  | { op: OpCodeOf<'sync'>; res: SyncResponse }
  | { op: OpCodeOf<'getAllChildrenNumber'>; res: GetAllChildrenNumberResponse }
  | { op: OpCodeOf<'getEphemerals'>; res: GetEphemeralsResponse }
  | { op: OpCodeOf<'whoAmI'>; res: WhoAmIResponse }
  | { op: OpCodeOf<'multi' | 'multiRead'>; res: MultiResult[] }
  | {
      op: OpCodeOf<
        | 'delete'
        | 'check'
        | 'deleteContainer'
        | 'setWatches'
        | 'setWatches2'
        | 'addWatch'
        | 'checkWatches'
        | 'removeWatches'
        | 'auth'
        | 'ping'
        | 'closeSession'
      >;
      res: null;
    };

// ---- transactions (txn log, Zab payloads) --------------------------------------------------
export interface TxnHeader {
  clientId: bigint;
  cxid: number;
  zxid: number;
  time: number;
  type: number;
}

/** A transaction body, tagged by TxnHeader.type (an OpCode; -1 is ErrorTxn). */
export type Txn =
  | {
      type: OpCodeOf<'create'>;
      path: string;
      data: Uint8Array | null;
      acl: ACL[];
      ephemeral: boolean;
      parentCVersion: number;
    } // CreateTxn (create, create2)
  | {
      type: OpCodeOf<'createContainer'>;
      path: string;
      data: Uint8Array | null;
      acl: ACL[];
      parentCVersion: number;
    } // CreateContainerTxn
  | {
      type: OpCodeOf<'createTTL'>;
      path: string;
      data: Uint8Array | null;
      acl: ACL[];
      parentCVersion: number;
      ttl: number;
    } // CreateTTLTxn
  | { type: OpCodeOf<'delete' | 'deleteContainer'>; path: string } // DeleteTxn (delete, deleteContainer)
  | { type: OpCodeOf<'setData'>; path: string; data: Uint8Array | null; version: number } // SetDataTxn
  | { type: OpCodeOf<'check'>; path: string; version: number } // CheckVersionTxn
  | { type: OpCodeOf<'setACL'>; path: string; acl: ACL[]; version: number } // SetACLTxn
  | { type: OpCodeOf<'createSession'>; timeOut: number } // CreateSessionTxn
  | { type: OpCodeOf<'closeSession'>; paths2Delete: string[] } // CloseSessionTxn
  | { type: OpCodeOf<'error'>; err: number } // ErrorTxn
  | { type: OpCodeOf<'multi'>; txns: Txn[] }; // MultiTxn (each sub-txn its own type)
