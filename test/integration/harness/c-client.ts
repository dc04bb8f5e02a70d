// Drives the server with the ZooKeeper C client (libzookeeper-mt 3.8, Debian
// libzookeeper-mt-dev), through a small C program compiled with gcc at test time.
//
// Why not cli_mt (zookeeper-bin)? It issues every command asynchronously and prints the
// completions as they arrive, so the output of consecutive stdin lines interleaves ("exists"
// can print before the "set" issued before it), `create` cannot set data, and there is no
// machine-readable form. A tiny program over the synchronous API (zoo_create, zoo_get,
// zoo_wget, zoo_multi, ...) gives deterministic JSON and exact error codes.
//
// compileCClient() writes C_SOURCE into <os.tmpdir()>/zkts-cclient-<hash>/ and runs
//   gcc -O1 -o zkprobe zkprobe.c -lzookeeper_mt
// once per source (built in a scratch directory and renamed into place).
// runCClient(bin, hostPort, scenario, base) resolves with the JSON it printed on the line
// "@@RESULT@@ <json>"; failures (non-zero exit, timeout) reject with its output.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const GCC = process.env['ZKTS_CC'] ?? 'gcc';

export const C_SOURCE = String.raw`
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

/* ---- output: a JSON object built with out_*() ---- */
static char out[65536];
static size_t outlen = 0;
static int first = 1;
static void put(const char *fmt, ...) {
  va_list ap; va_start(ap, fmt);
  outlen += vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
  va_end(ap);
}
static void key(const char *k) { put("%s\"%s\":", first ? "" : ",", k); first = 0; }
static void out_int(const char *k, long long v) { key(k); put("%lld", v); }
static void out_str(const char *k, const char *v) {
  key(k);
  if (v == NULL) { put("null"); return; }
  put("\"");
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\') put("\\%c", *p);
    else if ((unsigned char)*p < 0x20) put("\\u%04x", *p);
    else put("%c", *p);
  }
  put("\"");
}
static void out_raw(const char *k, const char *json) { key(k); put("%s", json); }

static void die(const char *what, int rc) {
  fprintf(stderr, "%s failed: %d %s\n", what, rc, zerror(rc));
  exit(1);
}

/* ---- events: every watcher call is recorded as "type state path" ---- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
#define MAXEV 64
static char events[MAXEV][512];
static int nevents = 0;
static int connected[4];

static const char *type_name(int t) {
  if (t == ZOO_CREATED_EVENT) return "CREATED";
  if (t == ZOO_DELETED_EVENT) return "DELETED";
  if (t == ZOO_CHANGED_EVENT) return "CHANGED";
  if (t == ZOO_CHILD_EVENT) return "CHILD";
  if (t == ZOO_SESSION_EVENT) return "SESSION";
  if (t == ZOO_NOTWATCHING_EVENT) return "NOTWATCHING";
  return "?";
}
static const char *state_name(int s) {
  if (s == ZOO_CONNECTED_STATE) return "CONNECTED";
  if (s == ZOO_CONNECTING_STATE) return "CONNECTING";
  if (s == ZOO_EXPIRED_SESSION_STATE) return "EXPIRED";
  if (s == ZOO_AUTH_FAILED_STATE) return "AUTH_FAILED";
  if (s == 0) return "CLOSED";
  return "?";
}

/* the context of the global (session) watcher is the handle's index */
static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh; (void)path;
  pthread_mutex_lock(&mu);
  if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) connected[(long)ctx] = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

/* a watcher given to zoo_w*(): records the event with its tag (the context) */
static void node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh;
  pthread_mutex_lock(&mu);
  if (nevents < MAXEV) {
    snprintf(events[nevents++], sizeof(events[0]), "%s %s %s %s", (const char *)ctx, type_name(type), state_name(state), path);
  }
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void deadline(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) { ts->tv_sec++; ts->tv_nsec -= 1000000000L; }
}

/* waits until n events were recorded (or timeout); returns how many there are */
static int wait_events(int n, int ms) {
  struct timespec ts; deadline(&ts, ms);
  pthread_mutex_lock(&mu);
  while (nevents < n) { if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) break; }
  int k = nevents;
  pthread_mutex_unlock(&mu);
  return k;
}

/* the recorded events as a JSON array */
static const char *events_json(void) {
  static char buf[MAXEV * 600];
  size_t len = 0;
  pthread_mutex_lock(&mu);
  len += snprintf(buf + len, sizeof(buf) - len, "[");
  for (int i = 0; i < nevents; i++) len += snprintf(buf + len, sizeof(buf) - len, "%s\"%s\"", i ? "," : "", events[i]);
  snprintf(buf + len, sizeof(buf) - len, "]");
  pthread_mutex_unlock(&mu);
  return buf;
}

static zhandle_t *open_handle(const char *hosts, long idx) {
  zhandle_t *zh = zookeeper_init(hosts, session_watcher, 10000, 0, (void *)idx, 0);
  if (zh == NULL) die("zookeeper_init", errno);
  struct timespec ts; deadline(&ts, 10000);
  pthread_mutex_lock(&mu);
  while (!connected[idx]) { if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) break; }
  int ok = connected[idx];
  pthread_mutex_unlock(&mu);
  if (!ok) die("connect (no ZOO_CONNECTED_STATE within 10 s)", zoo_state(zh));
  return zh;
}

static char *hexid(long long id) {
  static char b[2][32]; static int i = 0;
  i ^= 1; snprintf(b[i], sizeof(b[i]), "0x%llx", id); return b[i];
}

static const char *stat_json(const struct Stat *s) {
  static char b[512];
  snprintf(b, sizeof(b),
    "{\"version\":%d,\"cversion\":%d,\"aversion\":%d,\"dataLength\":%d,\"numChildren\":%d,"
    "\"ephemeralOwner\":\"%s\",\"czxidEqMzxid\":%s,\"pzxidEqCzxid\":%s}",
    s->version, s->cversion, s->aversion, s->dataLength, s->numChildren, hexid(s->ephemeralOwner),
    s->czxid == s->mzxid ? "true" : "false", s->pzxid == s->czxid ? "true" : "false");
  return b;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static const char *children_json(struct String_vector *v) {
  static char b[4096]; size_t len = 0;
  qsort(v->data, v->count, sizeof(char *), cmpstr);
  len += snprintf(b + len, sizeof(b) - len, "[");
  for (int i = 0; i < v->count; i++) len += snprintf(b + len, sizeof(b) - len, "%s\"%s\"", i ? "," : "", v->data[i]);
  snprintf(b + len, sizeof(b) - len, "]");
  return b;
}

static char B[256];
static char *P(const char *suffix) {
  static char b[4][512]; static int i = 0;
  i = (i + 1) % 4; snprintf(b[i], sizeof(b[i]), "%s%s", B, suffix); return b[i];
}

static int sync_rc = 1; static char sync_path[512];
static void sync_done(int rc, const char *value, const void *data) {
  (void)data;
  pthread_mutex_lock(&mu);
  sync_rc = rc; snprintf(sync_path, sizeof(sync_path), "%s", value ? value : "(null)");
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

/* ---- scenarios ---- */

static void basic(const char *hosts) {
  zhandle_t *zh = open_handle(hosts, 0);
  const clientid_t *cid = zoo_client_id(zh);
  out_str("sessionId", hexid(cid->client_id));
  out_int("timeout", zoo_recv_timeout(zh));
  out_str("state", state_name(zoo_state(zh)));
  char created[512]; int rc;
  rc = zoo_create(zh, B, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, created, sizeof(created));
  if (rc) die("create base", rc);
  struct Stat st;
  rc = zoo_create2(zh, P("/a"), "hello", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, created, sizeof(created), &st);
  out_int("create2Rc", rc); out_str("created", created); out_raw("createStat", stat_json(&st));
  char buf[256]; int len = sizeof(buf);
  rc = zoo_get(zh, P("/a"), 0, buf, &len, &st);
  buf[len < 0 ? 0 : len] = 0;
  out_int("getRc", rc); out_str("data", buf); out_int("len", len);
  rc = zoo_create(zh, P("/empty"), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
  len = sizeof(buf);
  rc = zoo_get(zh, P("/empty"), 0, buf, &len, &st);
  out_int("nullDataLen", len);
  struct String_vector kids;
  rc = zoo_get_children(zh, B, 0, &kids);
  out_int("lsRc", rc); out_raw("ls", children_json(&kids)); deallocate_String_vector(&kids);
  struct String_vector rootKids;
  rc = zoo_get_children(zh, "/", 0, &rootKids);
  int hasZk = 0, hasB = 0;
  for (int i = 0; i < rootKids.count; i++) {
    if (!strcmp(rootKids.data[i], "zookeeper")) hasZk = 1;
    if (!strcmp(rootKids.data[i], B + 1)) hasB = 1;
  }
  out_int("rootHasZookeeper", hasZk); out_int("rootHasBase", hasB); deallocate_String_vector(&rootKids);
  rc = zoo_set2(zh, P("/a"), "world", 5, 0, &st);
  out_int("setRc", rc); out_int("setVersion", st.version);
  out_int("setBadVersionRc", zoo_set(zh, P("/a"), "x", 1, 0));
  len = sizeof(buf);
  rc = zoo_get(zh, P("/a"), 0, buf, &len, &st); buf[len < 0 ? 0 : len] = 0;
  out_str("dataAfterSet", buf);
  out_int("existsRc", zoo_exists(zh, P("/a"), 0, &st)); out_int("existsVersion", st.version);
  out_int("existsMissingRc", zoo_exists(zh, P("/missing"), 0, &st));
  out_int("createExistsRc", zoo_create(zh, P("/a"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0));
  out_int("createNoParentRc", zoo_create(zh, P("/x/y"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0));
  rc = zoo_create2(zh, P("/e-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, created, sizeof(created), &st);
  out_str("ephemeralSeq", created);
  out_int("ephemeralOwnerIsSession", st.ephemeralOwner == zoo_client_id(zh)->client_id);
  out_int("deleteNotEmptyRc", zoo_delete(zh, B, -1));
  out_int("deleteBadVersionRc", zoo_delete(zh, P("/a"), 0));
  out_int("deleteRc", zoo_delete(zh, P("/a"), 1));
  out_int("existsAfterDeleteRc", zoo_exists(zh, P("/a"), 0, &st));
  out_int("deleteMissingRc", zoo_delete(zh, P("/a"), -1));
  /* sync (asynchronous only in the C API) */
  rc = zoo_async(zh, B, sync_done, NULL);
  struct timespec ts; deadline(&ts, 5000);
  pthread_mutex_lock(&mu);
  while (sync_rc == 1) { if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) break; }
  pthread_mutex_unlock(&mu);
  out_int("syncRc", sync_rc); out_str("syncPath", sync_path);
  /* multi: create + set + check succeed together; then one failing op undoes all */
  zoo_op_t ops[3]; zoo_op_result_t res[3]; char mpath[256];
  zoo_create_op_init(&ops[0], P("/m"), "1", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, mpath, sizeof(mpath));
  zoo_set_op_init(&ops[1], P("/empty"), "set", 3, 0, NULL);
  zoo_check_op_init(&ops[2], P("/m"), 0);
  rc = zoo_multi(zh, 3, ops, res);
  out_int("multiRc", rc); out_str("multiCreated", mpath);
  char mres[128]; snprintf(mres, sizeof(mres), "[%d,%d,%d]", res[0].err, res[1].err, res[2].err); out_raw("multiErrs", mres);
  zoo_create_op_init(&ops[0], P("/never"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, mpath, sizeof(mpath));
  zoo_delete_op_init(&ops[1], P("/m"), 5);
  zoo_check_op_init(&ops[2], P("/m"), 0);
  rc = zoo_multi(zh, 3, ops, res);
  out_int("multiFailRc", rc);
  snprintf(mres, sizeof(mres), "[%d,%d,%d]", res[0].err, res[1].err, res[2].err); out_raw("multiFailErrs", mres);
  out_int("neverExistsRc", zoo_exists(zh, P("/never"), 0, &st));
  rc = zoo_get_children(zh, B, 0, &kids);
  out_raw("lsEnd", children_json(&kids)); deallocate_String_vector(&kids);
  rc = zookeeper_close(zh);
  out_int("closeRc", rc);
}

static void watches(const char *hosts) {
  zhandle_t *a = open_handle(hosts, 0);
  zhandle_t *b = open_handle(hosts, 1);
  char buf[64]; int len; struct Stat st; struct String_vector kids;
  int rc = zoo_create(b, B, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
  if (rc) die("create base", rc);
  zoo_create(b, P("/d"), "v0", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
  /* data watch (zoo_wget), child watch (zoo_wget_children), exists watch on a missing node */
  len = sizeof(buf);
  out_int("wgetRc", zoo_wget(a, P("/d"), node_watcher, "data", buf, &len, &st));
  out_int("wlsRc", zoo_wget_children(a, B, node_watcher, "child", &kids)); deallocate_String_vector(&kids);
  out_int("wexistsMissingRc", zoo_wexists(a, P("/later"), node_watcher, "exists", &st));
  zoo_set(b, P("/d"), "v1", 2, -1);
  out_int("afterSet", wait_events(1, 5000));
  zoo_set(b, P("/d"), "v2", 2, -1); /* one-shot: no second CHANGED */
  zoo_create(b, P("/later"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
  out_int("afterCreate", wait_events(3, 5000));
  /* delete watch through exists on an existing node */
  out_int("wexistsRc", zoo_wexists(a, P("/d"), node_watcher, "gone", &st));
  zoo_delete(b, P("/d"), -1);
  wait_events(4, 5000);
  struct timespec pause = {0, 300000000L}; nanosleep(&pause, NULL);
  out_raw("events", events_json());
  /* an ephemeral of b disappears for a when b closes its session */
  zoo_create(b, P("/eph"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
  out_int("ephExistsRc", zoo_wexists(a, P("/eph"), node_watcher, "eph", &st));
  zookeeper_close(b);
  wait_events(5, 5000);
  out_int("ephAfterCloseRc", zoo_exists(a, P("/eph"), 0, &st));
  out_raw("eventsAfterClose", events_json());
  zookeeper_close(a);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: zkprobe host:port scenario /base\n"); return 2; }
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  snprintf(B, sizeof(B), "%s", argv[3]);
  if (!strcmp(argv[2], "basic")) basic(argv[1]);
  else if (!strcmp(argv[2], "watches")) watches(argv[1]);
  else { fprintf(stderr, "unknown scenario %s\n", argv[2]); return 2; }
  printf("@@RESULT@@ {%s}\n", out);
  fflush(stdout);
  return 0;
}
`;

/** Compiles C_SOURCE once per content; returns the path of the binary. */
export function compileCClient(): string {
  if (!fs.existsSync('/usr/include/zookeeper/zookeeper.h')) {
    throw new Error('zookeeper/zookeeper.h not found: apt-get install libzookeeper-mt-dev');
  }
  const h = crypto.createHash('sha256').update(C_SOURCE).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `zkts-cclient-${h}`);
  const bin = path.join(dir, 'zkprobe');
  if (fs.existsSync(bin)) return bin;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-cc-'));
  fs.writeFileSync(path.join(scratch, 'zkprobe.c'), C_SOURCE);
  const r = spawnSync(
    GCC,
    ['-O1', '-Wall', '-Wno-unused-result', '-DTHREADED', '-o', path.join(scratch, 'zkprobe'), path.join(scratch, 'zkprobe.c'), '-lzookeeper_mt', '-lpthread'],
    { encoding: 'utf8', timeout: 60000 },
  );
  if (r.status !== 0) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(`gcc failed (${r.status ?? r.signal ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
  }
  try {
    fs.renameSync(scratch, dir);
  } catch {
    fs.rmSync(scratch, { recursive: true, force: true });
    if (!fs.existsSync(bin)) throw new Error(`cannot install the C client in ${dir}`);
  }
  return bin;
}

const RESULT = '@@RESULT@@ ';

/** Runs one scenario of the compiled program; resolves with its JSON result. */
export function runCClient<T>(bin: string, hostPort: string, scenario: string, base: string, timeoutMs = 30000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [hostPort, scenario, base], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zkprobe ${scenario} timed out after ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(t);
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code !== 0 || line === undefined) {
        reject(new Error(`zkprobe ${scenario} exited ${code ?? signal}; output:\n${out}`));
        return;
      }
      try {
        resolve(JSON.parse(line.slice(RESULT.length)) as T);
      } catch (e) {
        reject(new Error(`zkprobe ${scenario} printed bad JSON (${String(e)}): ${line}`));
      }
    });
  });
}
