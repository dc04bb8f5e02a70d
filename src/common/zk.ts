// ZooKeeper's protocol constants, as ZooDefs / KeeperException / Watcher define them (3.8).
// A leaf module: imported by both threads, the protocol codec, the client and the harness.

/** ZooDefs.OpCode */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];
/** The literal type of the named opcodes, for discriminated unions: `OpCodeOf<'create' | 'create2'>`
 *  is `1 | 15`. */
export type OpCodeOf<K extends keyof typeof OpCode> = (typeof OpCode)[K];

const opNames = new Map<number, string>(Object.entries(OpCode).map(([k, v]) => [v, k]));
export function opName(op: number): string {
  return opNames.get(op) ?? `unknown(${op})`;
}

/** KeeperException.Code */
export const Err = {
  ok: 0,
  systemError: -1,
  runtimeInconsistency: -2,
  dataInconsistency: -3,
  connectionLoss: -4,
  marshallingError: -5,
  unimplemented: -6,
  operationTimeout: -7,
  badArguments: -8,
  unknownSession: -12,
  newConfigNoQuorum: -13,
  reconfigInProgress: -14,
  apiError: -100,
  noNode: -101,
  noAuth: -102,
  badVersion: -103,
  noChildrenForEphemerals: -108,
  nodeExists: -110,
  notEmpty: -111,
  sessionExpired: -112,
  invalidCallback: -113,
  invalidACL: -114,
  authFailed: -115,
  sessionMoved: -118,
  notReadOnly: -119,
  ephemeralOnLocalSession: -120,
  noWatcher: -121,
  requestTimeout: -122,
  reconfigDisabled: -123,
  sessionClosedRequireSaslAuth: -124,
  quotaExceeded: -125,
  throttledOp: -127,
} as const;
export type Err = (typeof Err)[keyof typeof Err];

const errNames = new Map<number, string>(Object.entries(Err).map(([k, v]) => [v, k]));
export function errName(code: number): string {
  return errNames.get(code) ?? `unknown(${code})`;
}

/** Watcher.Event.EventType */
export const EventType = {
  none: -1,
  nodeCreated: 1,
  nodeDeleted: 2,
  nodeDataChanged: 3,
  nodeChildrenChanged: 4,
  dataWatchRemoved: 5,
  childWatchRemoved: 6,
  persistentWatchRemoved: 7,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Watcher.Event.KeeperState */
export const KeeperState = {
  unknown: -1,
  disconnected: 0,
  noSyncConnected: 1,
  syncConnected: 3,
  authFailed: 4,
  connectedReadOnly: 5,
  saslAuthenticated: 6,
  expired: -112,
  closed: 7,
} as const;
export type KeeperState = (typeof KeeperState)[keyof typeof KeeperState];

/** CreateMode, as the `flags` int of CreateRequest carries it. */
export const CreateMode = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
  container: 4,
  persistentWithTTL: 5,
  persistentSequentialWithTTL: 6,
} as const;
export type CreateMode = (typeof CreateMode)[keyof typeof CreateMode];

export function isSequential(mode: number): boolean {
  return (
    mode === CreateMode.persistentSequential ||
    mode === CreateMode.ephemeralSequential ||
    mode === CreateMode.persistentSequentialWithTTL
  );
}
export function isEphemeral(mode: number): boolean {
  return mode === CreateMode.ephemeral || mode === CreateMode.ephemeralSequential;
}
export function isTTL(mode: number): boolean {
  return mode === CreateMode.persistentWithTTL || mode === CreateMode.persistentSequentialWithTTL;
}

/** AddWatchMode */
export const AddWatchMode = { persistent: 0, persistentRecursive: 1 } as const;
export type AddWatchMode = (typeof AddWatchMode)[keyof typeof AddWatchMode];

/** Watcher.WatcherType, as removeWatches / checkWatches carry it. */
export const WatcherType = {
  children: 1,
  data: 2,
  any: 3,
  persistent: 4,
  persistentRecursive: 5,
} as const;
export type WatcherType = (typeof WatcherType)[keyof typeof WatcherType];

/** The kinds of watch a session can hold on a path: what worker watch tables, the main thread's
 *  per-path worker masks and the pipeline's read results all count in (zkts's own numbering). */
export const WatchKind = {
  data: 1,
  exist: 2,
  child: 3,
  persistent: 4,
  persistentRecursive: 5,
} as const;
export type WatchKind = (typeof WatchKind)[keyof typeof WatchKind];

/** ZooDefs.Perms */
export const Perms = { read: 1, write: 2, create: 4, delete: 8, admin: 16, all: 31 } as const;

/** Reserved xids (ClientCnxn). */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const;
export type Xid = (typeof Xid)[keyof typeof Xid];

/** EphemeralType: ephemeralOwner values that mark containers and TTL nodes. */
export const EphemeralOwner = {
  /** Long.MIN_VALUE, as hi/lo u32 halves. */
  containerHi: 0x80000000,
  containerLo: 0,
  /** TTL nodes: top byte 0xFF, TTL (ms) in the low bits. */
  ttlHighByte: 0xff,
  /** Largest TTL EphemeralType accepts: 2^40 - 1 ms. */
  ttlMsMax: 0xffffffffff,
} as const;

/** Paths ZooKeeper reserves. */
export const ZkPaths = {
  root: '/',
  zookeeper: '/zookeeper',
  quota: '/zookeeper/quota',
  config: '/zookeeper/config',
} as const;
