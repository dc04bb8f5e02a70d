// Drives a ZooKeeper-compatible server with Apache Curator 5.4 (Debian libcurator-*-java) and
// prints one line "@@RESULT@@ <json>" with what it observed. Compiled and run by
// test/integration/harness/java.ts:
//
//   java CuratorProbe <connectString> <scenario> <basePath>
//
// A scenario that throws exits with status 1 and a stack trace on stderr. Each scenario works
// under its own base path so that scenarios do not see each other's znodes.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public final class CuratorProbe {
    private static String connect;
    private static final List<CuratorFramework> clients = Collections.synchronizedList(new ArrayList<>());

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: CuratorProbe <connectString> <scenario> <basePath>");
            System.exit(2);
        }
        connect = args[0];
        String scenario = args[1];
        String b = args[2];
        Map<String, Object> r;
        try {
            switch (scenario) {
                case "crud": r = crud(b); break;
                case "mutex": r = mutex(b); break;
                case "leader": r = leader(b); break;
                case "cache": r = cache(b); break;
                case "atomic": r = atomic(b); break;
                case "watch": r = watch(b); break;
                case "persistentNode": r = persistentNode(b); break;
                case "transaction": r = transaction(b); break;
                default: throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } finally {
            for (CuratorFramework c : new ArrayList<>(clients)) {
                try { c.close(); } catch (Throwable t) { /* ignore */ }
            }
        }
        System.out.println("@@RESULT@@ " + json(r));
        System.out.flush();
        System.exit(0);
    }

    // ---------------------------------------------------------------- helpers

    static CuratorFramework client() throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10000)
                .connectionTimeoutMs(10000)
                .retryPolicy(new ExponentialBackoffRetry(100, 5))
                .build();
        clients.add(c);
        c.start();
        if (!c.blockUntilConnected(15, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        return c;
    }

    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String str(byte[] b) { return b == null ? null : new String(b, StandardCharsets.UTF_8); }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    static Map<String, Object> stat(Stat s) {
        if (s == null) return null;
        return map("version", s.getVersion(), "cversion", s.getCversion(), "dataLength", s.getDataLength(),
                "numChildren", s.getNumChildren(), "ephemeralOwner", Long.toHexString(s.getEphemeralOwner()),
                "czxid", s.getCzxid(), "mzxid", s.getMzxid());
    }

    static String err(ThrowingRunnable r) {
        try {
            r.run();
            return null;
        } catch (KeeperException e) {
            return e.code().name();
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }

    interface ThrowingRunnable { void run() throws Exception; }

    static void waitFor(String what, long timeoutMs, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    // ---------------------------------------------------------------- scenarios

    /** CuratorFramework CRUD, creatingParentsIfNeeded, createContainers, versions, errors. */
    static Map<String, Object> crud(String b) throws Exception {
        CuratorFramework c = client();
        Map<String, Object> r = new LinkedHashMap<>();
        c.createContainers(b + "/ensured/deep");
        r.put("ensuredExists", c.checkExists().forPath(b + "/ensured/deep") != null);
        r.put("ensuredParentEphemeralOwner", Long.toHexString(c.checkExists().forPath(b + "/ensured").getEphemeralOwner()));
        c.createContainers(b + "/ensured/deep"); // idempotent
        String p = c.create().creatingParentsIfNeeded().forPath(b + "/a/b/c", bytes("hello"));
        r.put("created", p);
        Stat s = new Stat();
        r.put("data", str(c.getData().storingStatIn(s).forPath(b + "/a/b/c")));
        r.put("stat", stat(s));
        r.put("parentChildren", c.getChildren().forPath(b + "/a/b"));
        Stat s2 = c.setData().withVersion(0).forPath(b + "/a/b/c", bytes("world"));
        r.put("setVersion", s2.getVersion());
        r.put("badVersion", err(() -> c.setData().withVersion(0).forPath(b + "/a/b/c", bytes("x"))));
        r.put("dataAfter", str(c.getData().forPath(b + "/a/b/c")));
        r.put("nodeExists", err(() -> c.create().forPath(b + "/a/b/c")));
        r.put("noParent", err(() -> c.create().forPath(b + "/missing/x")));
        String seq = c.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(b + "/a/seq-", bytes(""));
        r.put("seq", seq);
        Stat es = c.checkExists().forPath(seq);
        r.put("seqOwnerIsSession", Long.toHexString(es.getEphemeralOwner())
                .equals(Long.toHexString(c.getZookeeperClient().getZooKeeper().getSessionId())));
        r.put("ephemeralChild", err(() -> c.create().forPath(seq + "/x")));
        List<String> kids = c.getChildren().forPath(b + "/a");
        Collections.sort(kids);
        r.put("aChildren", kids);
        r.put("notEmpty", err(() -> c.delete().forPath(b + "/a")));
        c.delete().guaranteed().deletingChildrenIfNeeded().forPath(b + "/a");
        r.put("afterDelete", c.checkExists().forPath(b + "/a") == null);
        r.put("deleteMissing", err(() -> c.delete().forPath(b + "/a")));
        r.put("deleteQuietly", err(() -> c.delete().quietly().forPath(b + "/a")));
        // TTL node (CreateTTL, needs extendedTypesEnabled, which the harness's zoo.cfg sets)
        r.put("ttlCreated", c.create().withTtl(60000).withMode(CreateMode.PERSISTENT_WITH_TTL)
                .forPath(b + "/ttl", bytes("t")));
        r.put("ttlData", str(c.getData().forPath(b + "/ttl")));
        r.put("ttlOwner", Long.toHexString(c.checkExists().forPath(b + "/ttl").getEphemeralOwner()));
        return r;
    }

    /** Two clients, two threads each taking an InterProcessMutex; a counter checks exclusion. */
    static Map<String, Object> mutex(String b) throws Exception {
        final int perThread = 15;
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        int[] counter = new int[1]; // deliberately not atomic: the lock must protect it
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (CuratorFramework c : List.of(c1, c2)) {
            InterProcessMutex m = new InterProcessMutex(c, b + "/lock");
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        if (!m.acquire(20, TimeUnit.SECONDS)) throw new IllegalStateException("acquire timed out");
                        try {
                            int n = inside.incrementAndGet();
                            maxInside.accumulateAndGet(n, Math::max);
                            int v = counter[0];
                            Thread.sleep(2);
                            counter[0] = v + 1;
                            inside.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                } catch (Exception e) {
                    errors.add(e.toString());
                }
            });
            threads.add(t);
            t.start();
        }
        start.countDown();
        for (Thread t : threads) t.join(60000);
        // a held lock is a child of the lock path; every release deleted it
        List<String> left = c1.getChildren().forPath(b + "/lock");
        InterProcessMutex probe = new InterProcessMutex(c1, b + "/lock");
        probe.acquire();
        boolean reentrant = probe.acquire(1, TimeUnit.SECONDS);
        InterProcessMutex other = new InterProcessMutex(c2, b + "/lock");
        boolean otherGot = other.acquire(300, TimeUnit.MILLISECONDS);
        int held = c1.getChildren().forPath(b + "/lock").size();
        probe.release();
        probe.release();
        boolean otherAfter = other.acquire(10, TimeUnit.SECONDS);
        other.release();
        return map("counter", counter[0], "expected", 2 * perThread, "maxInside", maxInside.get(),
                "errors", errors, "leftover", left.size(), "reentrant", reentrant,
                "otherWhileHeld", otherGot, "heldNodes", held, "otherAfterRelease", otherAfter);
    }

    /** LeaderLatch among three clients: one leader; closing it hands leadership to another. */
    static Map<String, Object> leader(String b) throws Exception {
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LeaderLatch l = new LeaderLatch(client(), b + "/latch", "p" + i);
            latches.add(l);
            l.start();
        }
        waitFor("a leader", 15000, () -> latches.stream().anyMatch(LeaderLatch::hasLeadership));
        Thread.sleep(300); // a second leader, if there were one, would show up by now
        List<String> leaders1 = new ArrayList<>();
        for (LeaderLatch l : latches) if (l.hasLeadership()) leaders1.add(l.getId());
        LeaderLatch first = latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
        String reported = latches.get(0).getLeader().getId();
        int participants = latches.get(0).getParticipants().size();
        first.close();
        List<LeaderLatch> rest = new ArrayList<>(latches);
        rest.remove(first);
        waitFor("a new leader", 15000, () -> rest.stream().anyMatch(LeaderLatch::hasLeadership));
        Thread.sleep(300);
        List<String> leaders2 = new ArrayList<>();
        for (LeaderLatch l : rest) if (l.hasLeadership()) leaders2.add(l.getId());
        String reported2 = rest.get(0).getLeader().getId();
        int participants2 = rest.get(0).getParticipants().size();
        for (LeaderLatch l : rest) l.close();
        return map("leaders1", leaders1, "reported1", reported, "participants1", participants,
                "closed", first.getId(), "leaders2", leaders2, "reported2", reported2,
                "participants2", participants2);
    }

    /** CuratorCache (persistent recursive watch underneath): initial, create, update, delete. */
    static Map<String, Object> cache(String b) throws Exception {
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath(b + "/root/pre", bytes("p"));
        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(c, b + "/root");
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> events.add("create " + n.getPath() + " " + str(n.getData())))
                .forChanges((o, n) -> events.add("change " + n.getPath() + " " + str(o.getData()) + "->" + str(n.getData())))
                .forDeletes(o -> events.add("delete " + o.getPath() + " " + str(o.getData())))
                .forInitialized(initialized::countDown)
                .build());
        cache.start();
        if (!initialized.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("cache not initialized");
        List<String> initial = drain(events, 2, 0);
        c.create().forPath(b + "/root/x", bytes("1"));
        List<String> afterCreate = drain(events, 1, 5000);
        c.setData().forPath(b + "/root/x", bytes("2"));
        List<String> afterSet = drain(events, 1, 5000);
        c.create().forPath(b + "/root/x/y", bytes("deep"));
        List<String> afterDeep = drain(events, 1, 5000);
        c.delete().deletingChildrenIfNeeded().forPath(b + "/root/x");
        List<String> afterDelete = drain(events, 2, 5000);
        Collections.sort(afterDelete);
        Thread.sleep(200);
        List<String> extra = drain(events, 100, 0);
        ChildData pre = cache.get(b + "/root/pre").orElse(null);
        int size = cache.size();
        cache.close();
        return map("initial", initial, "afterCreate", afterCreate, "afterSet", afterSet,
                "afterDeep", afterDeep, "afterDelete", afterDelete, "extra", extra,
                "cachedPre", pre == null ? null : str(pre.getData()), "size", size);
    }

    /** Takes up to n events, waiting up to timeoutMs in total for them. */
    static List<String> drain(LinkedBlockingQueue<String> q, int n, long timeoutMs) throws InterruptedException {
        List<String> out = new ArrayList<>();
        long end = System.currentTimeMillis() + timeoutMs;
        while (out.size() < n) {
            long left = end - System.currentTimeMillis();
            String e = left > 0 ? q.poll(left, TimeUnit.MILLISECONDS) : q.poll();
            if (e == null) break;
            out.add(e);
        }
        return out;
    }

    /** DistributedAtomicLong incremented from several threads on several clients. */
    static Map<String, Object> atomic(String b) throws Exception {
        final int threads = 4, each = 20;
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger failed = new AtomicInteger();
        List<Long> seen = Collections.synchronizedList(new ArrayList<>());
        List<Thread> ts = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int i = 0; i < threads; i++) {
            CuratorFramework c = client();
            DistributedAtomicLong counter = new DistributedAtomicLong(c, b + "/counter", new RetryNTimes(1000, 1));
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    for (int k = 0; k < each; k++) {
                        AtomicValue<Long> v = counter.increment();
                        if (v.succeeded()) seen.add(v.postValue());
                        else failed.incrementAndGet();
                    }
                } catch (Exception e) {
                    errors.add(e.toString());
                }
            });
            ts.add(t);
            t.start();
        }
        start.countDown();
        for (Thread t : ts) t.join(60000);
        CuratorFramework c = client();
        DistributedAtomicLong reader = new DistributedAtomicLong(c, b + "/counter", new RetryNTimes(10, 10));
        AtomicValue<Long> fin = reader.get();
        List<Long> sorted = new ArrayList<>(seen);
        Collections.sort(sorted);
        boolean distinct = true;
        for (int i = 0; i < sorted.size(); i++) if (sorted.get(i) != i + 1) distinct = false;
        AtomicValue<Long> cas = reader.compareAndSet(fin.postValue(), 1000L);
        AtomicValue<Long> casStale = reader.compareAndSet(fin.postValue(), 2000L);
        return map("final", fin.postValue(), "expected", (long) threads * each, "failed", failed.get(),
                "errors", errors, "postValuesAre1toN", distinct, "casOk", cas.succeeded(),
                "casStale", casStale.succeeded(), "afterCas", reader.get().postValue());
    }

    /** client.watchers().add() with PERSISTENT_RECURSIVE and PERSISTENT; removal. */
    static Map<String, Object> watch(String b) throws Exception {
        // One client per watch: the server keeps one watch mode per (path, connection), so two
        // modes on the same path from one connection would overwrite each other.
        CuratorFramework c = client();
        CuratorFramework cr = client();
        CuratorFramework cp = client();
        c.create().creatingParentsIfNeeded().forPath(b + "/w", bytes(""));
        LinkedBlockingQueue<String> rec = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<String> per = new LinkedBlockingQueue<>();
        Watcher wr = e -> rec.add(e.getType() + " " + e.getPath());
        Watcher wp = e -> per.add(e.getType() + " " + e.getPath());
        cr.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(wr).forPath(b + "/w");
        cp.watchers().add().withMode(AddWatchMode.PERSISTENT).usingWatcher(wp).forPath(b + "/w");
        c.create().forPath(b + "/w/a", bytes("1"));
        c.create().forPath(b + "/w/a/b", bytes("1"));
        c.setData().forPath(b + "/w/a/b", bytes("2"));
        c.setData().forPath(b + "/w/a/b", bytes("3"));
        c.delete().forPath(b + "/w/a/b");
        c.setData().forPath(b + "/w", bytes("x"));
        List<String> recursive = drain(rec, 6, 5000);
        List<String> persistent = drain(per, 2, 5000);
        Thread.sleep(200);
        recursive.addAll(drain(rec, 100, 0));
        persistent.addAll(drain(per, 100, 0));
        // the watch stays after it fired: more events come
        c.setData().forPath(b + "/w/a", bytes("again"));
        List<String> recursiveAgain = drain(rec, 1, 5000);
        cr.watchers().remove(wr).ofType(Watcher.WatcherType.Any).forPath(b + "/w");
        List<String> removedEvent = drain(rec, 1, 5000);
        String removeAgain = err(() -> cr.watchers().remove(wr).ofType(Watcher.WatcherType.Any).forPath(b + "/w"));
        c.create().forPath(b + "/w/after", bytes(""));
        List<String> persistentAfter = drain(per, 1, 5000);
        Thread.sleep(300);
        List<String> recursiveAfter = drain(rec, 100, 0);
        return map("recursive", recursive, "persistent", persistent, "recursiveAgain", recursiveAgain,
                "removedEvent", removedEvent, "removeAgain", removeAgain,
                "recursiveAfterRemove", recursiveAfter, "persistentAfter", persistentAfter);
    }

    /** An ephemeral PersistentNode is created again after its session is expired. */
    static Map<String, Object> persistentNode(String b) throws Exception {
        CuratorFramework c = client();
        CuratorFramework observer = client();
        List<String> states = Collections.synchronizedList(new ArrayList<>());
        c.getConnectionStateListenable().addListener((cl, st) -> states.add(st.name()));
        c.create().creatingParentsIfNeeded().forPath(b, bytes(""));
        PersistentNode node = new PersistentNode(c, CreateMode.EPHEMERAL, false, b + "/member", bytes("me"));
        node.start();
        if (!node.waitForInitialCreate(10, TimeUnit.SECONDS)) throw new IllegalStateException("not created");
        ZooKeeper zk = c.getZookeeperClient().getZooKeeper();
        long sid1 = zk.getSessionId();
        Stat s1 = observer.checkExists().forPath(b + "/member");
        // Expire the session the way Curator's own tests do: open it on a second connection
        // (same id and password) and close it there.
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper killer = new ZooKeeper(connect, 10000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        }, sid1, zk.getSessionPasswd());
        if (!connected.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("killer not connected");
        killer.close();
        waitFor("the node to come back with a new owner", 20000, () -> {
            try {
                Stat s = observer.checkExists().forPath(b + "/member");
                return s != null && s.getEphemeralOwner() != sid1 && s.getEphemeralOwner() != 0;
            } catch (Exception e) {
                return false;
            }
        });
        Stat s2 = observer.checkExists().forPath(b + "/member");
        long sid2 = c.getZookeeperClient().getZooKeeper().getSessionId();
        String data = str(observer.getData().forPath(b + "/member"));
        node.close();
        waitFor("the node to go", 10000, () -> {
            try { return observer.checkExists().forPath(b + "/member") == null; } catch (Exception e) { return false; }
        });
        return map("firstOwnerIsSession", s1.getEphemeralOwner() == sid1,
                "newSession", sid2 != sid1, "secondOwnerIsNewSession", s2.getEphemeralOwner() == sid2,
                "data", data, "lost", states.contains(ConnectionState.LOST.name()),
                "reconnected", states.contains(ConnectionState.RECONNECTED.name()), "goneAfterClose", true);
    }

    /** client.transaction().forOperations(...): all applied, or none when one fails. */
    static Map<String, Object> transaction(String b) throws Exception {
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath(b + "/t", bytes("0"));
        c.create().forPath(b + "/t/old", bytes(""));
        List<CuratorOp> ops = List.of(
                c.transactionOp().create().forPath(b + "/t/n", bytes("new")),
                c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(b + "/t/s-", bytes("")),
                c.transactionOp().setData().withVersion(0).forPath(b + "/t", bytes("1")),
                c.transactionOp().check().withVersion(0).forPath(b + "/t/n"),
                c.transactionOp().delete().forPath(b + "/t/old"));
        List<Map<String, Object>> results = new ArrayList<>();
        for (CuratorTransactionResult tr : c.transaction().forOperations(ops)) {
            results.add(map("type", tr.getType().name(), "forPath", tr.getForPath(), "resultPath", tr.getResultPath(),
                    "version", tr.getResultStat() == null ? null : tr.getResultStat().getVersion(),
                    "error", tr.getError()));
        }
        List<String> kids = c.getChildren().forPath(b + "/t");
        Collections.sort(kids);
        String tData = str(c.getData().forPath(b + "/t"));
        List<CuratorOp> bad = List.of(
                c.transactionOp().create().forPath(b + "/t/never", bytes("")),
                c.transactionOp().setData().withVersion(0).forPath(b + "/t", bytes("2")), // version is 1 now
                c.transactionOp().delete().forPath(b + "/t/n"));
        String badErr = err(() -> c.transaction().forOperations(bad));
        List<String> kidsAfter = c.getChildren().forPath(b + "/t");
        Collections.sort(kidsAfter);
        return map("results", results, "children", kids, "tData", tData, "badErr", badErr,
                "childrenAfterFailed", kidsAfter, "tDataAfterFailed", str(c.getData().forPath(b + "/t")));
    }

    // ---------------------------------------------------------------- JSON

    static String json(Object o) {
        StringBuilder sb = new StringBuilder();
        write(sb, o);
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    static void write(StringBuilder sb, Object o) {
        if (o == null) {
            sb.append("null");
        } else if (o instanceof String) {
            sb.append('"');
            for (char ch : ((String) o).toCharArray()) {
                if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
                else if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
                else sb.append(ch);
            }
            sb.append('"');
        } else if (o instanceof Boolean || o instanceof Integer) {
            sb.append(o);
        } else if (o instanceof Long) {
            long v = (Long) o;
            // larger values would lose precision in JavaScript: send them as strings
            if (Math.abs(v) < (1L << 53)) sb.append(v);
            else write(sb, Long.toString(v));
        } else if (o instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) o).entrySet()) {
                if (!first) sb.append(',');
                first = false;
                write(sb, e.getKey());
                sb.append(':');
                write(sb, e.getValue());
            }
            sb.append('}');
        } else if (o instanceof List) {
            sb.append('[');
            boolean first = true;
            for (Object x : (List<Object>) o) {
                if (!first) sb.append(',');
                first = false;
                write(sb, x);
            }
            sb.append(']');
        } else {
            write(sb, o.toString());
        }
    }
}
