// Types for the parts of node-zookeeper-client 1.1.3 (npm, CommonJS, untyped) the interop
// suites use. Longs (zxids, session ids, times, ephemeralOwner) come as 8-byte Buffers.

declare module 'node-zookeeper-client' {
  export interface Stat {
    czxid: Buffer;
    mzxid: Buffer;
    ctime: Buffer;
    mtime: Buffer;
    version: number;
    cversion: number;
    aversion: number;
    ephemeralOwner: Buffer;
    dataLength: number;
    numChildren: number;
    pzxid: Buffer;
  }

  export class Id {
    constructor(scheme: string, id: string);
    scheme: string;
    id: string;
  }

  export class ACL {
    constructor(permission: number, id: Id);
    permission: number;
    id: Id;
    static OPEN_ACL_UNSAFE: ACL[];
    static CREATOR_ALL_ACL: ACL[];
    static READ_ACL_UNSAFE: ACL[];
  }

  export interface ZkException extends Error {
    code: number;
    name: string;
    path: string | undefined;
    getCode(): number;
    getName(): string;
    getPath(): string | undefined;
  }

  export interface ZkEvent {
    type: number;
    name: string;
    path: string;
    getType(): number;
    getName(): string;
    getPath(): string;
  }

  export interface ZkState {
    name: string;
    code: number;
    getName(): string;
    getCode(): number;
  }

  export interface TransactionResult {
    type: number;
    path?: string;
    stat?: Stat;
    err?: number;
  }

  export interface Transaction {
    create(path: string, data?: Buffer | null, acls?: ACL[], mode?: number): Transaction;
    create(path: string, data: Buffer | null, mode: number): Transaction;
    check(path: string, version: number): Transaction;
    setData(path: string, data: Buffer | null, version?: number): Transaction;
    remove(path: string, version?: number): Transaction;
    commit(callback: (error: ZkException | null, results: TransactionResult[]) => void): void;
  }

  export type Watcher = (event: ZkEvent) => void;

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
    sessionId?: Buffer;
    sessionPassword?: Buffer;
  }

  export interface Client {
    connect(): void;
    close(): void;
    getState(): ZkState;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    getSessionTimeout(): number;
    addAuthInfo(scheme: string, auth: Buffer): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, cb: (e: ZkException | null, path: string) => void): void;
    create(path: string, data: Buffer | null, mode: number, cb: (e: ZkException | null, path: string) => void): void;
    create(path: string, data: Buffer | null, cb: (e: ZkException | null, path: string) => void): void;
    create(path: string, cb: (e: ZkException | null, path: string) => void): void;
    remove(path: string, version: number, cb: (e: ZkException | null) => void): void;
    remove(path: string, cb: (e: ZkException | null) => void): void;
    setData(path: string, data: Buffer | null, version: number, cb: (e: ZkException | null, stat: Stat) => void): void;
    getData(path: string, watcher: Watcher | undefined, cb: (e: ZkException | null, data: Buffer | undefined, stat: Stat) => void): void;
    getData(path: string, cb: (e: ZkException | null, data: Buffer | undefined, stat: Stat) => void): void;
    setACL(path: string, acls: ACL[], version: number, cb: (e: ZkException | null, stat: Stat) => void): void;
    getACL(path: string, cb: (e: ZkException | null, acls: ACL[], stat: Stat) => void): void;
    exists(path: string, watcher: Watcher | undefined, cb: (e: ZkException | null, stat: Stat | null) => void): void;
    exists(path: string, cb: (e: ZkException | null, stat: Stat | null) => void): void;
    getChildren(path: string, watcher: Watcher | undefined, cb: (e: ZkException | null, children: string[], stat: Stat) => void): void;
    getChildren(path: string, cb: (e: ZkException | null, children: string[], stat: Stat) => void): void;
    mkdirp(path: string, cb: (e: ZkException | null, path: string) => void): void;
    transaction(): Transaction;
    on(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed' | 'connectedReadOnly', listener: () => void): this;
    on(event: 'state', listener: (state: ZkState) => void): this;
    once(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed' | 'connectedReadOnly', listener: () => void): this;
    once(event: 'state', listener: (state: ZkState) => void): this;
    removeListener(event: string, listener: (...args: never[]) => void): this;
  }

  const zookeeper: {
    createClient(connectionString: string, options?: ClientOptions): Client;
    ACL: typeof ACL;
    Id: typeof Id;
    Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };
    CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
    State: Record<'DISCONNECTED' | 'SYNC_CONNECTED' | 'AUTH_FAILED' | 'CONNECTED_READ_ONLY' | 'SASL_AUTHENTICATED' | 'EXPIRED', ZkState>;
    Event: { NODE_CREATED: number; NODE_DELETED: number; NODE_DATA_CHANGED: number; NODE_CHILDREN_CHANGED: number };
    Exception: Record<string, number> & { create(code: number, path?: string): ZkException };
  };
  export default zookeeper;
}
