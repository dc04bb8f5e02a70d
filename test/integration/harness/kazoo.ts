// Runs Python scripts that drive the server with kazoo (python3-kazoo 2.8, Debian package).
//
// Always /usr/bin/python3: the pyenv `python3` on PATH does not have kazoo.
//
// A script is run with a prelude (PRELUDE below) that gives it:
//   HOSTS                    the connect string (env ZK_HOSTS)
//   connect(**kw)            a started KazooClient on HOSTS (kw go to KazooClient)
//   result(obj)              the script's answer, JSON; runKazoo() resolves with it
//   send(obj)                a message to the test while the script runs (startKazoo)
//   recv()                   the next line the test wrote to the script's stdin, JSON
//   err(fn, *a, **kw)        runs fn, returns the exception class name or None
//   st(stat)                 a ZnodeStat as a dict
//   ev(event)                a WatchedEvent as a dict {type, state, path}
//   call(client, request)    sends one of the extension requests below with kazoo's own
//                            connection (framing, xids, session, error mapping are kazoo's)
//   CreateContainer, CreateTTL, AddWatch, GetEphemerals, GetAllChildrenNumber, WhoAmI:
//                            request classes for opcodes kazoo 2.8 does not have
//   sid(client)              the session id as a hex string ('0x...')
//   Events()                 a watcher that records events; .wait(n, timeout) -> list of dicts
//   record_wire(client)      a list of every notification and reply the connection thread
//                            reads, in wire order, logged before kazoo dispatches them
//   EphemeralOnLocalSessionError, NoWatcherError: error codes kazoo 2.8 does not map

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export const PYTHON = '/usr/bin/python3';

const RESULT = '@@RESULT@@ ';
const MESSAGE = '@@MSG@@ ';

export const PRELUDE = String.raw`
import json, os, sys, time, threading, signal, struct
from collections import namedtuple
from kazoo.client import KazooClient, KazooState
from kazoo.security import make_digest_acl, make_acl, ACL, Id, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
from kazoo.protocol.states import EventType, KeeperState
from kazoo.protocol.serialization import (
    write_string, write_buffer, read_string, int_struct, long_struct, stat_struct, Create2)
from kazoo.protocol.states import ZnodeStat
import kazoo.exceptions as kex
from kazoo.exceptions import _zookeeper_exception

HOSTS = os.environ['ZK_HOSTS']
_out_lock = threading.Lock()

def _emit(prefix, obj):
    line = prefix + json.dumps(obj)
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()

def result(obj):
    _emit('${RESULT}', obj)

def send(obj):
    _emit('${MESSAGE}', obj)

def recv():
    line = sys.stdin.readline()
    if not line:
        raise EOFError('test closed stdin')
    return json.loads(line)

def connect(**kw):
    kw.setdefault('hosts', HOSTS)
    kw.setdefault('timeout', 10.0)
    c = KazooClient(**kw)
    c.start(timeout=10)
    return c

def err(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception as e:
        return type(e).__name__
    return None

def st(s):
    # ephemeralOwner as hex: session ids do not fit in a JavaScript number
    if s is None:
        return None
    d = dict(s._asdict())
    d['ephemeralOwner'] = hex(d['ephemeralOwner'])
    return d

def sid(client):
    return hex(client.client_id[0])

def ev(e):
    return {'type': e.type, 'state': e.state, 'path': e.path}

class Events(object):
    # a watcher that records the events it gets; wait(n) blocks until there are n of them
    def __init__(self):
        self.items = []
        self._cv = threading.Condition()
    def __call__(self, e):
        with self._cv:
            self.items.append(ev(e))
            self._cv.notify_all()
    def wait(self, n=1, timeout=5.0):
        with self._cv:
            self._cv.wait_for(lambda: len(self.items) >= n, timeout)
            return list(self.items)

@_zookeeper_exception(-120)
class EphemeralOnLocalSessionError(kex.ZookeeperError):
    pass

@_zookeeper_exception(-121)
class NoWatcherError(kex.ZookeeperError):
    pass

def _acl_bytes(acls):
    b = bytearray(int_struct.pack(len(acls)))
    for a in acls:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
    return b

class CreateContainer(namedtuple('CreateContainer', 'path data acl')):
    type = 19
    def serialize(self):
        return bytearray(write_string(self.path) + write_buffer(self.data)) + _acl_bytes(self.acl) + int_struct.pack(4)
    @classmethod
    def deserialize(cls, b, offset):
        return Create2.deserialize(b, offset)

class CreateTTL(namedtuple('CreateTTL', 'path data acl flags ttl')):
    type = 21
    def serialize(self):
        return (bytearray(write_string(self.path) + write_buffer(self.data)) + _acl_bytes(self.acl)
                + int_struct.pack(self.flags) + long_struct.pack(self.ttl))
    @classmethod
    def deserialize(cls, b, offset):
        return Create2.deserialize(b, offset)

class AddWatch(namedtuple('AddWatch', 'path mode')):
    type = 106
    def serialize(self):
        return bytearray(write_string(self.path) + int_struct.pack(self.mode))
    @classmethod
    def deserialize(cls, b, offset):
        return True

class GetEphemerals(namedtuple('GetEphemerals', 'prefix')):
    type = 103
    def serialize(self):
        return bytearray(write_string(self.prefix))
    @classmethod
    def deserialize(cls, b, offset):
        n = int_struct.unpack_from(b, offset)[0]
        offset += 4
        out = []
        for _ in range(max(n, 0)):
            s, offset = read_string(b, offset)
            out.append(s)
        return out

class GetAllChildrenNumber(namedtuple('GetAllChildrenNumber', 'path')):
    type = 104
    def serialize(self):
        return bytearray(write_string(self.path))
    @classmethod
    def deserialize(cls, b, offset):
        return int_struct.unpack_from(b, offset)[0]

class WhoAmI(namedtuple('WhoAmI', 'unused')):
    # one (unused) field: kazoo skips replies to requests that are falsy, as an empty tuple is
    type = 107
    def __new__(cls, unused=None):
        return super().__new__(cls, unused)
    def serialize(self):
        return bytearray()
    @classmethod
    def deserialize(cls, b, offset):
        n = int_struct.unpack_from(b, offset)[0]
        offset += 4
        out = []
        for _ in range(max(n, 0)):
            scheme, offset = read_string(b, offset)
            user, offset = read_string(b, offset)
            out.append([scheme, user])
        return out

def call(client, request, timeout=10):
    r = client.handler.async_result()
    client._call(request, r)
    return r.get(timeout=timeout)

def record_wire(client):
    # Hooks kazoo's connection thread: returns a list that gets, in the order the frames arrive,
    #   {'kind': 'event', 'type': <int>, 'state': <int>, 'path': ...}   for every notification
    #   {'kind': 'reply', 'xid', 'err', 'op', 'path'[, 'version']}      for every reply
    # ('version' for getData replies), whether or not a watcher or a waiter exists.
    log = []
    conn = client._connection
    orig_event = conn._read_watch_event
    orig_reply = conn._read_response
    def on_event(buffer, offset):
        t, s = struct.unpack_from('!ii', buffer, offset)
        path, _ = read_string(buffer, offset + 8)
        log.append({'kind': 'event', 'type': t, 'state': s, 'path': path})
        return orig_event(buffer, offset)
    def on_reply(header, buffer, offset):
        entry = {'kind': 'reply', 'xid': header.xid, 'err': header.err}
        try:
            request = client._pending[0][0]
            entry['op'] = request.type
            entry['path'] = getattr(request, 'path', None)
            if header.err == 0 and request.type == 4:
                entry['version'] = request.deserialize(buffer, offset)[1].version
        except Exception as e:
            entry['hook_error'] = repr(e)
        log.append(entry)
        return orig_reply(header, buffer, offset)
    conn._read_watch_event = on_event
    conn._read_response = on_reply
    return log
`;

export interface KazooOptions {
  /** connect string, becomes ZK_HOSTS */
  hosts: string;
  /** default 20 s; the process is SIGKILLed when it runs longer */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** Removes the common leading indentation of a template-literal script. */
export function dedent(src: string): string {
  const lines = src.replace(/^\n/, '').split('\n');
  let min = Infinity;
  for (const l of lines) {
    if (l.trim() === '') continue;
    const m = /^[ ]*/.exec(l);
    min = Math.min(min, m === null ? 0 : m[0].length);
  }
  if (!Number.isFinite(min)) return src;
  return lines.map((l) => l.slice(min)).join('\n');
}

function fullScript(script: string): string {
  return PRELUDE + '\n# ---- test script ----\n' + dedent(script) + '\n';
}

export class KazooScriptError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'KazooScriptError';
  }
}

/** Line number of the test script (not the prelude) in a traceback. */
function describeFailure(what: string, script: string, stdout: string, stderr: string): string {
  const preludeLines = PRELUDE.split('\n').length + 1;
  const tb = stderr.replace(/line (\d+), in <module>/g, (_m, n: string) => {
    const ln = Number(n) - preludeLines;
    return ln > 0 ? `line ${ln} of the test script, in <module>` : `line ${n} (prelude), in <module>`;
  });
  const numbered = dedent(script)
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(3)}| ${l}`)
    .join('\n');
  return `${what}\n--- python stderr ---\n${tb.trim()}\n--- python stdout ---\n${stdout.trim()}\n--- script ---\n${numbered}`;
}

/**
 * Runs a script to completion and resolves with what it passed to result() (the last call
 * wins), or else with its whole stdout parsed as JSON. Rejects with the Python traceback (line
 * numbers of the test script) when the script fails, produces no JSON, or runs out of time.
 */
export async function runKazoo<T = unknown>(script: string, opts: KazooOptions): Promise<T> {
  const p = startKazoo(script, opts);
  const r = await p.done;
  if (r.timedOut) {
    throw new KazooScriptError(describeFailure(`kazoo script timed out after ${opts.timeoutMs ?? 20000} ms`, script, r.stdout, r.stderr), r.stdout, r.stderr);
  }
  if (r.code !== 0) {
    throw new KazooScriptError(describeFailure(`kazoo script failed (exit ${r.code ?? r.signal ?? '?'})`, script, r.stdout, r.stderr), r.stdout, r.stderr);
  }
  if (r.results.length === 0) {
    // a script may also just print one JSON document
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new KazooScriptError(describeFailure('kazoo script called no result() and printed no JSON', script, r.stdout, r.stderr), r.stdout, r.stderr);
    }
  }
  return r.results[r.results.length - 1] as T;
}

export interface KazooDone {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  results: unknown[];
}

export interface KazooProcess {
  readonly pid: number;
  /** next send() message from the script; rejects on timeout or when the script ends first */
  nextMessage<T = unknown>(timeoutMs?: number): Promise<T>;
  /** writes one JSON line to the script's stdin (read it with recv()) */
  write(obj: unknown): void;
  /** sends a signal (SIGKILL by default) and waits for the exit */
  kill(signal?: NodeJS.Signals): Promise<KazooDone>;
  readonly done: Promise<KazooDone>;
}

/** Starts a script in the background; talk to it with send()/recv() on the Python side. */
export function startKazoo(script: string, opts: KazooOptions): KazooProcess {
  const timeoutMs = opts.timeoutMs ?? 20000;
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(PYTHON, ['-u', '-c', fullScript(script)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env, ZK_HOSTS: opts.hosts, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const results: unknown[] = [];
  const messages: unknown[] = [];
  let waiters: Array<() => void> = [];
  let finished = false;
  let timedOut = false;
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  child.stdout.on('data', (d: Buffer) => {
    const s = d.toString('utf8');
    stdout += s;
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.startsWith(RESULT)) results.push(JSON.parse(line.slice(RESULT.length)));
      else if (line.startsWith(MESSAGE)) messages.push(JSON.parse(line.slice(MESSAGE.length)));
    }
    wake();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  child.stdin.on('error', () => {
    // the script exited without reading stdin
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<KazooDone>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      finished = true;
      wake();
      resolve({ code, signal, timedOut, stdout, stderr, results });
    });
  });
  return {
    pid: child.pid ?? -1,
    done,
    write(obj: unknown) {
      child.stdin.write(JSON.stringify(obj) + '\n');
    },
    async nextMessage<T>(waitMs = 10000): Promise<T> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        if (messages.length > 0) return messages.shift() as T;
        if (finished) {
          throw new KazooScriptError(describeFailure('kazoo script ended before sending the expected message', script, stdout, stderr), stdout, stderr);
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new KazooScriptError(describeFailure(`no message from the kazoo script within ${waitMs} ms`, script, stdout, stderr), stdout, stderr);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!finished) child.kill(signal);
      return done;
    },
  };
}
