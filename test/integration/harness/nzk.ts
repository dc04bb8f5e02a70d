// Promise helpers around node-zookeeper-client (npm, 1.1.3): the client itself is used as is.

import { spawn } from 'node:child_process';
import zookeeper, { type Client, type ClientOptions, type ZkException } from 'node-zookeeper-client';
import { repoRoot } from './server.js';

export { zookeeper };
export type { Client };

/** Connects and resolves once the session is established. */
export function nzkConnect(connectString: string, opts: ClientOptions = {}, timeoutMs = 10000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 10000, spinDelay: 100, ...opts });
    const t = setTimeout(() => {
      c.close();
      reject(new Error(`node-zookeeper-client: no session with ${connectString} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.once('expired', () => {
      clearTimeout(t);
      c.close();
      reject(new Error('node-zookeeper-client: session expired while connecting'));
    });
    c.connect();
  });
}

/** Closes the session (closeSession request) and resolves when the client has disconnected. */
export function nzkClose(c: Client, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const name = c.getState().getName();
    if (name === 'DISCONNECTED' || name === 'EXPIRED') {
      c.close();
      resolve();
      return;
    }
    const t = setTimeout(resolve, timeoutMs);
    c.once('disconnected', () => {
      clearTimeout(t);
      resolve();
    });
    c.close();
  });
}

/**
 * Turns a node-style call into a promise of its result arguments:
 *   const [data, stat] = await call<[Buffer | undefined, Stat]>((cb) => c.getData('/a', cb));
 */
export function call<A extends unknown[]>(f: (cb: (e: ZkException | null, ...a: A) => void) => void): Promise<A> {
  return new Promise((resolve, reject) => {
    f((e, ...a) => {
      if (e) reject(e);
      else resolve(a);
    });
  });
}

/** The ZooKeeper error name of a rejected call (NO_NODE, BAD_VERSION...), or 'ok'. */
export async function errName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const ex = e as Partial<ZkException>;
    if (typeof ex.getName === 'function') return ex.getName();
    throw e;
  }
}

/** An 8-byte long from node-zookeeper-client as a bigint. */
export function long(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}

export interface Holder {
  sessionId: Buffer;
  password: Buffer;
  timeout: number;
  /** what the holder created (its paths) */
  paths: string[];
  kill(): Promise<void>;
}

/**
 * Starts a node process that opens a node-zookeeper-client session, creates the given
 * ephemeral nodes, reports its session id and password, and then keeps the session alive
 * until killed. kill() is a SIGKILL: the socket closes, no closeSession is sent, and the
 * session then expires on the server after its timeout.
 */
export async function startHolder(connectString: string, ephemerals: string[], sessionTimeout: number): Promise<Holder> {
  const script = `
    const zk = require('node-zookeeper-client');
    const c = zk.createClient(process.argv[1], { sessionTimeout: ${sessionTimeout}, spinDelay: 100 });
    const paths = JSON.parse(process.argv[2]);
    c.once('connected', () => {
      let i = 0;
      const next = () => {
        if (i === paths.length) {
          process.stdout.write(JSON.stringify({ id: c.getSessionId().toString('hex'), pw: c.getSessionPassword().toString('hex'), to: c.getSessionTimeout(), paths }) + '\\n');
          return;
        }
        c.create(paths[i++], Buffer.from('held'), zk.CreateMode.EPHEMERAL, (e) => {
          if (e) { process.stderr.write(String(e) + '\\n'); process.exit(2); }
          next();
        });
      };
      next();
    });
    c.connect();
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, connectString, JSON.stringify(ephemerals)], {
    cwd: repoRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`holder did not report within 10 s; stderr: ${err}`));
    }, 10000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then(() => {
      clearTimeout(t);
      reject(new Error(`holder exited early; stderr: ${err}`));
    });
  });
  const r = JSON.parse(line) as { id: string; pw: string; to: number; paths: string[] };
  return {
    sessionId: Buffer.from(r.id, 'hex'),
    password: Buffer.from(r.pw, 'hex'),
    timeout: r.to,
    paths: r.paths,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
