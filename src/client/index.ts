// zkts's TypeScript ZooKeeper client (the package's main export).
//
//   import { createClient, CreateMode } from 'zkts';
//   const zk = createClient('127.0.0.1:2181,127.0.0.1:2182/app', { sessionTimeoutMs: 10000 });
//   await zk.waitConnected();
//   await zk.create('/x', 'hello', { mode: CreateMode.ephemeral });
//   const { data, stat } = await zk.getData('/x', (e) => console.log(e.name, e.path));
//   await zk.close();

export {
  ZkClient,
  createClient,
  type ACLResult,
  type AuthInfo,
  type ChildrenResult,
  type ClientInfo,
  type ClientOptions,
  type ClientState,
  type ClientTlsOptions,
  type CreateResult,
  type DataResult,
  type WatchArg,
} from './client.js';
export { ZkError, isRetryable, isZkError } from './errors.js';
export { DEFAULT_PORT, HostProvider, parseConnectString, type ConnectString, type HostPort, type NextHost } from './hosts.js';
export {
  Acls,
  Ops,
  Transaction,
  type CreateOptions,
  type Data,
  type Op,
  type OpResult,
  type ReadOp,
} from './ops.js';
export { eventName, type WatchEvent, type Watcher } from './watches.js';
export {
  AddWatchMode,
  CreateMode,
  Err,
  EventType,
  KeeperState,
  Perms,
  WatcherType,
  errName,
} from '../common/zk.js';
export type { ACL, Id, Stat } from '../protocol/types.js';
