package io.github.r2dbcrouting.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

import io.github.r2dbcrouting.HealthSettings;
import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.RetiredPool;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.RoutingEvent;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import reactor.core.publisher.Mono;

/**
 * The soak: a steady load on a routing factory over a primary and two streaming replicas while
 * {@code cycles} faults, picked at random from a seed, are injected and undone one after the
 * other; then the checks that nothing leaked (connections lent from any pool, retired ones
 * included; server sessions and sessions idle in a transaction; heap after a full GC; threads)
 * and that every acknowledged write is on the final primary. Run it through the scenario runner:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.ScenarioRunner --soak --cycles=1000 --seed=11
 * </pre>
 *
 * <p>The cluster runs with {@code synchronous_standby_names = 'ANY 1 (*)'} and the promoted
 * standby is the one that received the most WAL, so no acknowledged commit can be lost to a
 * failover: under asynchronous replication a {@code kill -9} of the primary loses what it had not
 * sent yet, which no client library can prevent, and the last check would then test the
 * replication mode rather than the factory.
 */
final class Soak {

    /** What to run. */
    record Options(int cycles, long seed, Path out, Duration operationTimeout, Duration writeEvery, Duration healthInterval,
                   Duration healthTimeout, long maxLagBytes, int plainReaders, int retryReaders, int transactionReaders, int writers,
                   Duration warmUp, Duration detectWithin, Duration settleWithin, Duration maxDuration) {

        static Options defaults() {
            return new Options(1000, 11, Path.of("benchmarks", "reports"), Duration.ofSeconds(2), Duration.ofMillis(20),
                Duration.ofMillis(500), Duration.ofMillis(500), 32 * 1024, 10, 3, 3, 2, Duration.ofSeconds(3), Duration.ofSeconds(15),
                Duration.ofSeconds(60), Duration.ZERO);
        }

        Options withCycles(int n) {
            return new Options(n, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
                this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
                this.detectWithin, this.settleWithin, this.maxDuration);
        }

        Options withSeed(long s) {
            return new Options(this.cycles, s, this.out, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
                this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
                this.detectWithin, this.settleWithin, this.maxDuration);
        }

        Options withOut(Path p) {
            return new Options(this.cycles, this.seed, p, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
                this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
                this.detectWithin, this.settleWithin, this.maxDuration);
        }

        /** Starts no cycle after {@code d} of cycling ({@code ZERO}: no limit), so that a long soak fits a time slot. */
        Options withMaxDuration(Duration d) {
            return new Options(this.cycles, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
                this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
                this.detectWithin, this.settleWithin, d);
        }

        int readers() {
            return this.plainReaders + this.retryReaders + this.transactionReaders;
        }

        /** {@code --soak [--cycles=1000] [--seed=11] [--max-minutes=N] [--out=benchmarks/reports]}. */
        static Options parse(String[] args) {
            Options o = defaults();
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                String value = kv.length > 1 ? kv[1] : "";
                o = switch (kv[0]) {
                    case "--soak" -> o;
                    case "--cycles" -> o.withCycles(positive("--cycles", value));
                    case "--seed" -> o.withSeed(Long.parseLong(value));
                    case "--out" -> o.withOut(Path.of(value));
                    case "--max-minutes" -> o.withMaxDuration(Duration.ofMinutes(positive("--max-minutes", value)));
                    default -> throw new IllegalArgumentException("unknown soak option '" + arg
                        + "'; soak options are --cycles=N, --seed=N, --max-minutes=N, --out=DIR");
                };
            }
            return o;
        }

        private static int positive(String name, String value) {
            int n;
            try {
                n = Integer.parseInt(value);
            } catch (NumberFormatException error) {
                throw new IllegalArgumentException(name + " must be a positive integer, was '" + value + "'", error);
            }
            if (n <= 0) {
                throw new IllegalArgumentException(name + " must be a positive integer, was " + n);
            }
            return n;
        }
    }

    static boolean requested(String[] args) {
        return Arrays.asList(args).contains("--soak");
    }

    private final Options options;

    private final Random random;

    private final Map<RoutingEvent.Type, LongAdder> events = new ConcurrentHashMap<>();

    /** The last events, for the log when a cycle does not settle. */
    private final Deque<String> recentEvents = new ArrayDeque<>();

    private final List<SoakResult.Cycle> cycles = new ArrayList<>();

    private PostgresCluster cluster;

    private PostgresNode primary;

    private int retiredMax;

    private int cyclesWithRetired;

    private Soak(Options options) {
        this.options = options;
        this.random = new Random(options.seed());
    }

    /** Runs the soak and writes {@code report.md} and {@code soak.json} to a new directory under {@code out}. */
    static SoakResult run(Options options) throws IOException, InterruptedException {
        Path directory = options.out().resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-soak");
        Files.createDirectories(directory);
        SoakResult result = new Soak(options).soak(directory);
        Files.writeString(directory.resolve("soak.json"), Json.write(result.json()));
        Files.writeString(directory.resolve("report.md"), "# r2dbc-routing soak report " + directory.getFileName() + "\n\nMachine: "
            + ScenarioRunner.machine() + ". Every PostgreSQL server runs on this same machine.\n\n" + result.markdown());
        ScenarioRunner.log("soak: report written to " + directory.toAbsolutePath());
        return result;
    }

    private SoakResult soak(Path directory) throws InterruptedException {
        long started = System.nanoTime();
        ScenarioRunner.log("soak: " + this.options.cycles() + " cycles, seed " + this.options.seed() + "; starting a cluster with 2 replicas");
        try (PostgresCluster testCluster = PostgresCluster.start(2)) {
            this.cluster = testCluster;
            this.primary = testCluster.primary();
            for (PostgresNode node : testCluster.nodes()) {
                synchronous(node);
            }
            this.primary.execute("CREATE TABLE soak_writes (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
            testCluster.awaitReplication(Duration.ofSeconds(30));

            // warm-up: JIT, class loading and the shared event loops and schedulers exist before the baseline
            RoutingConnectionFactory warm = factory("soak-warm-up");
            awaitSettled(warm, this.options.settleWithin());
            SoakLoad warmLoad = new SoakLoad(warm, this.options.operationTimeout(), this.options.writeEvery());
            Mono<Void> warmDone = warmLoad.start(this.options.plainReaders(), this.options.retryReaders(), this.options.transactionReaders(),
                this.options.writers());
            TimeUnit.NANOSECONDS.sleep(this.options.warmUp().toNanos());
            warmLoad.stop();
            warmDone.block(this.options.operationTimeout().plusSeconds(10));
            warm.close().block(Duration.ofSeconds(30));
            warm = null;
            warmLoad = null;
            waitFor(Duration.ofSeconds(15), () -> sessionsNow().values().stream().allMatch(n -> n == 0));

            Map<String, Integer> sessionsBefore = sessionsNow();
            Map<String, Integer> threadsBefore = threadGroups();
            // the census first, so that the used heap before counts it as the heap after does
            HeapCensus censusBefore = HeapCensus.take();
            long heapBefore = heapAfterGc();
            ScenarioRunner.log("soak: baseline: sessions " + sessionsBefore + ", heap " + mb(heapBefore) + " MB, " + Thread.activeCount()
                + " threads; live instances of the watched classes " + censusBefore.watchedInstances() + ", resolver groups "
                + censusBefore.resolverGroups());

            // the factory, the load and what they hold live in soakUnderLoad() only, so that the heap check below sees them gone
            Phase phase = soakUnderLoad();
            waitFor(Duration.ofSeconds(20), () -> {
                Map<String, Integer> now = sessionsNow();
                return sessionsBefore.entrySet().stream().allMatch(e -> now.getOrDefault(e.getKey(), 0) <= e.getValue());
            });
            Map<String, Integer> sessionsAfter = sessionsNow();
            waitFor(Duration.ofSeconds(20), () -> newThreads(threadsBefore, threadGroups()).isEmpty());
            Map<String, Integer> threadsAfter = threadGroups();
            Map<String, Integer> newThreads = newThreads(threadsBefore, threadsAfter);
            long heapAfter = heapAfterGc();
            HeapCensus censusAfter = HeapCensus.take();
            SoakResult result = new SoakResult(this.options, (System.nanoTime() - started) / 1e9, phase.loadSeconds(), List.copyOf(this.cycles),
                phase.load(), counts(this.events), phase.finalNodes(), phase.retired(), phase.acquired(), phase.drained(), this.retiredMax,
                this.cyclesWithRetired, phase.idleInTransaction(), sessionsBefore, sessionsAfter, heapBefore, heapAfter, count(threadsBefore),
                count(threadsAfter), newThreads, phase.acked(), phase.present(), phase.missing(), phase.missingCount(), this.primary.name(),
                censusBefore, censusAfter);
            ScenarioRunner.log("soak: " + result.summary());
            return result;
        }
    }

    /** What the soak under load measured, up to the factory's close. */
    private record Phase(double loadSeconds, Map<String, Object> load, List<NodeSnapshot> finalNodes, List<RetiredPool> retired, int acquired,
                         boolean drained, Map<String, Integer> idleInTransaction, int acked, int present, List<Long> missing, int missingCount) {
    }

    private Phase soakUnderLoad() throws InterruptedException {
        RoutingConnectionFactory factory = factory("soak");
        SoakLoad load = new SoakLoad(factory, this.options.operationTimeout(), this.options.writeEvery());
        Mono<Void> done;
        long loadStart;
        try {
            awaitSettled(factory, this.options.settleWithin());
            loadStart = System.nanoTime();
            done = load.start(this.options.plainReaders(), this.options.retryReaders(), this.options.transactionReaders(),
                this.options.writers());
            waitFor(Duration.ofSeconds(10), () -> load.good("write") > 20);
            long stopAt = this.options.maxDuration().isZero() ? Long.MAX_VALUE : System.nanoTime() + this.options.maxDuration().toNanos();
            for (int i = 1; i <= this.options.cycles(); i++) {
                if (System.nanoTime() > stopAt) {
                    ScenarioRunner.log("soak: --max-minutes reached after " + (i - 1) + " cycles; no further cycle");
                    break;
                }
                cycle(i, factory);
            }
            load.stop();
            done.block(this.options.operationTimeout().plusSeconds(10));
        } catch (RuntimeException | InterruptedException | Error error) {
            load.stop();
            factory.close().block(Duration.ofSeconds(30));
            throw error;
        }
        long loadNanos = System.nanoTime() - loadStart;
        ScenarioRunner.log("soak: " + this.cycles.size() + " cycles done in " + ScenarioRunner.fmt(loadNanos / 1e9) + " s; checking");

        // 1. no connection lent from any pool, retired ones included
        boolean drained = waitFor(Duration.ofSeconds(15), () -> lent(factory) == 0);
        List<NodeSnapshot> finalNodes = factory.nodes();
        List<RetiredPool> retired = factory.retiredPools();
        int acquired = lent(factory);
        // 2. no session idle in a transaction (the pools' idle connections are still open here)
        waitFor(Duration.ofSeconds(5), () -> idleInTransaction().values().stream().allMatch(n -> n == 0));
        Map<String, Integer> idleInTransaction = idleInTransaction();
        // 3. every acknowledged write on the final primary
        long[] acked = load.acknowledged();
        long[] present = idsOn(this.primary);
        List<Long> missing = new ArrayList<>();
        for (long id : acked) {
            if (Arrays.binarySearch(present, id) < 0) {
                missing.add(id);
            }
        }
        Map<String, Object> loadFigures = loadFigures(load, loadNanos);
        factory.close().block(Duration.ofSeconds(30));
        return new Phase(loadNanos / 1e9, loadFigures, finalNodes, retired, acquired, drained, idleInTransaction, acked.length, present.length,
            List.copyOf(missing.subList(0, Math.min(missing.size(), 20))), missing.size());
    }

    // ---------------------------------------------------------------- cycles

    private void cycle(int index, RoutingConnectionFactory factory) throws InterruptedException {
        SoakFault fault = SoakFault.values()[this.random.nextInt(SoakFault.values().length)];
        List<PostgresNode> standbys = new ArrayList<>();
        for (PostgresNode node : this.cluster.nodes()) {
            if (node != this.primary) {
                standbys.add(node);
            }
        }
        if (fault == SoakFault.REMOVE_ADD) {
            // only a configured replica can be removed, and not while it takes the writes
            standbys.removeIf(node -> !node.name().startsWith("replica"));
        }
        PostgresNode target = fault == SoakFault.PRIMARY_FAILOVER ? this.primary : standbys.get(this.random.nextInt(standbys.size()));
        long start = System.nanoTime();
        double detected = Double.NaN;
        switch (fault) {
            case REPLICA_KILL -> {
                target.kill();
                detected = awaitEjected(factory, target, start);
                target.restart();
            }
            case REPLICA_FREEZE -> {
                target.freeze();
                detected = awaitEjected(factory, target, start);
                target.thaw();
            }
            case REPLICA_PAUSE_REPLAY -> {
                target.pauseReplay();
                detected = awaitEjected(factory, target, start);
                target.resumeReplay();
            }
            case PRIMARY_FAILOVER -> {
                target.kill();
                detected = awaitEjected(factory, target, start);
                PostgresNode promoted = mostAdvanced(standbys);
                promoted.promote();
                synchronous(promoted);
                this.primary = promoted;
                for (PostgresNode other : standbys) {
                    if (other != promoted) {
                        follow(other, promoted);
                    }
                }
                // the old primary may have written WAL nobody received: it starts over from a base backup
                target.rejoinAsReplicaOf(promoted);
            }
            case REMOVE_ADD -> {
                factory.removeReplica(target.name()).block(Duration.ofSeconds(90));
                detected = (System.nanoTime() - start) / 1e9;
                factory.addReplica(target.name(), target.connectionFactory());
            }
        }
        int retired = factory.retiredPools().stream().mapToInt(RetiredPool::acquired).sum();
        this.retiredMax = Math.max(this.retiredMax, retired);
        if (retired > 0) {
            this.cyclesWithRetired++;
        }
        long recovered = System.nanoTime();
        boolean settled = awaitSettled(factory, this.options.settleWithin());
        long end = System.nanoTime();
        SoakResult.Cycle cycle = new SoakResult.Cycle(index, fault, target.name(), detected, (end - recovered) / 1e9, (end - start) / 1e9,
            settled);
        this.cycles.add(cycle);
        ScenarioRunner.log("soak cycle " + index + "/" + this.options.cycles() + ": " + cycle.describe() + (settled ? "" : "; NOT SETTLED: "
            + factory.nodes() + " recent events " + recentEvents()));
    }

    /** Seconds from {@code start} until the factory ejected {@code target}, or NaN if not within the deadline. */
    private double awaitEjected(RoutingConnectionFactory factory, PostgresNode target, long start) throws InterruptedException {
        boolean ejected = waitFor(this.options.detectWithin(), () -> factory.nodes().stream()
            .anyMatch(n -> n.name().equals(target.name()) && n.state() == NodeState.EJECTED));
        return ejected ? (System.nanoTime() - start) / 1e9 : Double.NaN;
    }

    /** Every node in, up, in the role the cluster has it in, and writes on the cluster's primary. */
    private boolean awaitSettled(RoutingConnectionFactory factory, Duration within) throws InterruptedException {
        return waitFor(within, () -> {
            List<NodeSnapshot> nodes = factory.nodes();
            if (nodes.size() != this.cluster.nodes().size()) {
                return false;
            }
            for (NodeSnapshot node : nodes) {
                boolean isPrimary = node.name().equals(this.primary.name());
                if (node.state() != NodeState.UP || node.role() != (isPrimary ? NodeRole.PRIMARY : NodeRole.REPLICA) || node.writer() != isPrimary) {
                    return false;
                }
            }
            return true;
        });
    }

    /** The standby that received the most WAL: it holds every commit the primary acknowledged. */
    private static PostgresNode mostAdvanced(List<PostgresNode> standbys) {
        PostgresNode best = null;
        long bestLsn = -1;
        for (PostgresNode node : standbys) {
            String lsn = node.queryString("SELECT (coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) - '0/0'::pg_lsn)::bigint");
            long value = lsn == null ? -1 : Long.parseLong(lsn);
            if (value > bestLsn) {
                best = node;
                bestLsn = value;
            }
        }
        if (best == null) {
            throw new IllegalStateException("no standby to promote among " + standbys);
        }
        return best;
    }

    /**
     * Points a standby that did not diverge (it received no more WAL than {@code primary}, the
     * most advanced) at the promoted node, as Patroni does: a slot there, a new
     * {@code primary_conninfo}, a reload; it follows the new timeline by itself
     * ({@code recovery_target_timeline = latest}). Cheaper than a base backup.
     */
    private static void follow(PostgresNode standby, PostgresNode primary) {
        String slot = standby.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        retrying(() -> primary.execute("SELECT pg_create_physical_replication_slot('" + slot + "', true) WHERE NOT EXISTS "
            + "(SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "')"));
        String conninfo = "host=" + primary.host() + " port=" + primary.port() + " user=" + conninfoValue(primary.username())
            + " password=" + conninfoValue(primary.password()) + " application_name=" + conninfoValue(standby.name());
        retrying(() -> standby.execute("ALTER SYSTEM SET primary_conninfo = '" + conninfo.replace("'", "''") + "'"));
        retrying(() -> standby.execute("SELECT pg_reload_conf()"));
    }

    private static String conninfoValue(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** A commit on this node, once it is primary, waits until one standby has flushed it. */
    private static void synchronous(PostgresNode node) {
        retrying(() -> node.execute("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'"));
        retrying(() -> node.execute("SELECT pg_reload_conf()"));
    }

    /**
     * Runs a testkit statement, once more after a failure: on a machine shared with other builds a
     * statement can miss the testkit's 10 s bound, and a soak should not end on a slow admin query.
     */
    private static void retrying(Runnable statement) {
        try {
            statement.run();
        } catch (IllegalStateException first) {
            ScenarioRunner.log("soak: retrying after " + first.getMessage());
            statement.run();
        }
    }

    private RoutingConnectionFactory factory(String name) {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name(name)
            .pool(PoolSettings.builder().maxSize(this.options.readers()).maxAcquireTime(Duration.ofSeconds(2))
                .maxCreateConnectionTime(Duration.ofSeconds(1)).build())
            .health(HealthSettings.builder().interval(this.options.healthInterval()).timeout(this.options.healthTimeout())
                .maxLagBytes(this.options.maxLagBytes()).build())
            .listener(event -> {
                this.events.computeIfAbsent(event.type(), t -> new LongAdder()).increment();
                synchronized (this.recentEvents) {
                    this.recentEvents.addLast(event.message());
                    if (this.recentEvents.size() > 12) {
                        this.recentEvents.removeFirst();
                    }
                }
            });
        // the factory's configured names follow the testkit's; roles are whatever the cluster has now
        builder.primary("primary", this.cluster.node("primary").connectionFactory());
        for (PostgresNode node : this.cluster.replicas()) {
            builder.replica(node.name(), node.connectionFactory());
        }
        return builder.build();
    }

    private String recentEvents() {
        synchronized (this.recentEvents) {
            return new ArrayList<>(this.recentEvents).toString();
        }
    }

    // ---------------------------------------------------------------- checks

    private static int lent(RoutingConnectionFactory factory) {
        return factory.nodes().stream().mapToInt(NodeSnapshot::acquired).sum()
            + factory.retiredPools().stream().mapToInt(RetiredPool::acquired).sum();
    }

    private Map<String, Integer> sessionsNow() {
        Map<String, Integer> sessions = new LinkedHashMap<>();
        for (PostgresNode node : this.cluster.nodes()) {
            sessions.put(node.name(), node.clientSessions());
        }
        return sessions;
    }

    private Map<String, Integer> idleInTransaction() {
        Map<String, Integer> sessions = new LinkedHashMap<>();
        for (PostgresNode node : this.cluster.nodes()) {
            String count = node.queryString("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                + "AND state LIKE 'idle in transaction%'");
            sessions.put(node.name(), count == null ? 0 : Integer.parseInt(count));
        }
        return sessions;
    }

    private static long[] idsOn(PostgresNode node) {
        String ids = node.queryString("SELECT string_agg(id::text, ',' ORDER BY id) FROM soak_writes");
        if (ids == null || ids.isEmpty()) {
            return new long[0];
        }
        return Arrays.stream(ids.split(",")).mapToLong(Long::parseLong).toArray();
    }

    /** Live threads by name with digits folded ({@code reactor-tcp-nio-#}), so that pools compare by kind. */
    static Map<String, Integer> threadGroups() {
        Map<String, Integer> groups = new TreeMap<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive()) {
                groups.merge(thread.getName().replaceAll("[0-9]+", "#"), 1, Integer::sum);
            }
        }
        return groups;
    }

    /** Groups with more threads now than before, and by how many. */
    static Map<String, Integer> newThreads(Map<String, Integer> before, Map<String, Integer> after) {
        Map<String, Integer> grown = new TreeMap<>();
        after.forEach((group, n) -> {
            int extra = n - before.getOrDefault(group, 0);
            if (extra > 0) {
                grown.put(group, extra);
            }
        });
        return grown;
    }

    private static int count(Map<String, Integer> groups) {
        return groups.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Used heap after a full GC: the least of a few tries, since one GC may leave floating garbage. */
    static long heapAfterGc() throws InterruptedException {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            TimeUnit.MILLISECONDS.sleep(100);
            least = Math.min(least, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    static String mb(long bytes) {
        return ScenarioRunner.fmt(bytes / (1024.0 * 1024.0));
    }

    private static Map<String, Object> loadFigures(SoakLoad load, long nanos) {
        Map<String, Object> figures = new LinkedHashMap<>();
        for (String kind : List.of("read", "read+retry", "read in transaction", "write")) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("ok", load.good(kind));
            row.put("failed", load.failed(kind));
            row.put("okPerSecond", load.good(kind) / (nanos / 1e9));
            figures.put(kind, row);
        }
        figures.put("failedByType", Recorder.counts(load.errors));
        return figures;
    }

    private static Map<String, Long> counts(Map<RoutingEvent.Type, LongAdder> adders) {
        return Recorder.counts(adders);
    }

    /** Polls {@code condition} every 20 ms until it holds or {@code within} passes; returns whether it held. */
    static boolean waitFor(Duration within, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
        return true;
    }
}
