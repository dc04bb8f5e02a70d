// The records of zookeeper.jute (3.8) as TypeScript types. The codec (jute/records.ts) reads and
// writes exactly these. Conventions:
// - jute `long` is `number` where ZooKeeper keeps it below 2^53 (zxids, times, versions, TTLs);
//   the codec throws on a larger value. Session ids and ephemeralOwner are 64-bit with the server
//   id in the top byte, so they are `bigint`.
// - jute `buffer` is `Uint8Array | null` (a -1 length is null); `ustring` is `string | null` only
//   where ZooKeeper sends null, otherwise `string`.

export interface Id {
  scheme: string;
  id: string;
}
export interface ACL {
  perms: number;
  id: Id;
}

export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
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
  | { op: 1 | 15 | 19; req: CreateRequest } // create, create2, createContainer
  | { op: 21; req: CreateTTLRequest }
  | { op: 2; req: DeleteRequest }
  | { op: 5; req: SetDataRequest }
  | { op: 13; req: CheckVersionRequest }
  | { op: 4 | 8; req: PathWatchRequest }; // getData, getChildren (multiRead)

/** A decoded client request body, tagged by opcode. */
export type ClientRequest =
  | { op: 1 | 15 | 19; req: CreateRequest }
  | { op: 21; req: CreateTTLRequest }
  | { op: 2; req: DeleteRequest }
  | { op: 20 | 6 | 9 | 104 | 103; req: PathRequest }
  | { op: 3 | 4 | 8 | 12; req: PathWatchRequest }
  | { op: 5; req: SetDataRequest }
  | { op: 7; req: SetACLRequest }
  | { op: 13; req: CheckVersionRequest }
  | { op: 14 | 22; req: MultiOp[] }
  | { op: 101; req: SetWatches }
  | { op: 105; req: SetWatches2 }
  | { op: 106; req: AddWatchRequest }
  | { op: 17 | 18; req: RemoveWatchesRequest }
  | { op: 100; req: AuthPacket }
  | { op: 11 | -11 | 107; req: null }; // ping, closeSession, whoAmI

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
  | { op: 1; path: string } // create (also createContainer/createTTL without stat)
  | { op: 15; path: string; stat: Stat } // create2 / createTTL / createContainer
  | { op: 2 } // delete
  | { op: 5; stat: Stat } // setData
  | { op: 13 } // check
  | { op: 4; data: Uint8Array | null; stat: Stat } // getData (multiRead)
  | { op: 8; children: string[] } // getChildren (multiRead)
  | { op: -1; err: number }; // error

/** A reply body, tagged by the opcode it answers; `null` where the reply has no body. */
export type ClientResponse =
  | { op: 1; res: CreateResponse }
  // createContainer answers with Create2Response too (FinalRequestProcessor); a client that sent
  // it expecting CreateResponse just ignores the trailing stat.
  | { op: 15 | 19 | 21; res: Create2Response }
  | { op: 3; res: ExistsResponse }
  | { op: 4; res: GetDataResponse }
  | { op: 5; res: SetDataResponse }
  | { op: 6; res: GetACLResponse }
  | { op: 7; res: SetACLResponse }
  | { op: 8; res: GetChildrenResponse }
  | { op: 12; res: GetChildren2Response }
  | { op: 9; res: SyncResponse }
  | { op: 104; res: GetAllChildrenNumberResponse }
  | { op: 103; res: GetEphemeralsResponse }
  | { op: 107; res: WhoAmIResponse }
  | { op: 14 | 22; res: MultiResult[] }
  | { op: 2 | 13 | 20 | 101 | 105 | 106 | 17 | 18 | 100 | 11 | -11; res: null };

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
      type: 1;
      path: string;
      data: Uint8Array | null;
      acl: ACL[];
      ephemeral: boolean;
      parentCVersion: number;
    } // CreateTxn (create, create2)
  | {
      type: 19;
      path: string;
      data: Uint8Array | null;
      acl: ACL[];
      parentCVersion: number;
    } // CreateContainerTxn
  | {
      type: 21;
      path: string;
      data: Uint8Array | null;
      acl: ACL[];
      parentCVersion: number;
      ttl: number;
    } // CreateTTLTxn
  | { type: 2 | 20; path: string } // DeleteTxn (delete, deleteContainer)
  | { type: 5; path: string; data: Uint8Array | null; version: number } // SetDataTxn
  | { type: 13; path: string; version: number } // CheckVersionTxn
  | { type: 7; path: string; acl: ACL[]; version: number } // SetACLTxn
  | { type: -10; timeOut: number } // CreateSessionTxn
  | { type: -11; paths2Delete: string[] } // CloseSessionTxn
  | { type: -1; err: number } // ErrorTxn
  | { type: 14; txns: Txn[] }; // MultiTxn (each sub-txn its own type)
