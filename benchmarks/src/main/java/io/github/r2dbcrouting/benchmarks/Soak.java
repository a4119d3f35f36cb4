package io.github.r2dbcrouting.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.RetiredPool;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import reactor.core.publisher.Mono;

/**
 * The soak: a steady load on a routing factory over a primary and two replicas of one family while
 * {@code cycles} faults, picked at random from a seed, are injected and undone one after the
 * other ({@link SoakCycles}); then the checks that nothing leaked (connections lent from any pool,
 * retired ones included; server sessions and sessions idle in a transaction; heap after a full GC;
 * threads) and that every acknowledged write is on the final primary. Run it through the scenario
 * runner:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.ScenarioRunner --soak --family=mariadb --cycles=1000 --seed=11
 * </pre>
 *
 * <p>No commit is acknowledged before a replica has it (PostgreSQL
 * {@code synchronous_standby_names = 'ANY 1 (*)'}, MariaDB semi-synchronous replication) and the
 * promoted replica is the one that received the most, so no acknowledged commit can be lost to a
 * failover: under asynchronous replication a {@code kill -9} of the primary loses what it had not
 * sent yet, which no client library can prevent, and the last check would then test the
 * replication mode rather than the factory. Every fault exists for both families.
 */
final class Soak {

    static boolean requested(String[] args) {
        return Arrays.asList(args).contains("--soak");
    }

    private final SoakOptions options;

    private Soak(SoakOptions options) {
        this.options = options;
    }

    /** Runs the soak and writes {@code report.md} and {@code soak.json} to a new directory under {@code out}. */
    static SoakResult run(SoakOptions options) throws IOException, InterruptedException {
        Path directory = options.out().resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-soak-"
            + options.family().id());
        Files.createDirectories(directory);
        SoakResult result = new Soak(options).soak();
        Files.writeString(directory.resolve("soak.json"), Json.write(result.json()));
        Files.writeString(directory.resolve("report.md"), "# r2dbc-routing soak report " + directory.getFileName() + "\n\nMachine: "
            + ScenarioRunner.machine() + ". Every " + options.family().label + " server runs on this same machine.\n\n" + result.markdown());
        ScenarioRunner.log("soak: report written to " + directory.toAbsolutePath());
        return result;
    }

    private SoakResult soak() throws InterruptedException {
        long started = System.nanoTime();
        ScenarioRunner.log("soak: " + this.options.family().label + ", " + this.options.cycles() + " cycles, seed " + this.options.seed()
            + "; starting a cluster with 2 replicas");
        try (BenchCluster cluster = this.options.family().start(2)) {
            cluster.synchronous();
            cluster.primary().execute(cluster.createTable(SoakLoad.WRITES));
            cluster.primary().execute(cluster.createTable(SoakLoad.ONE_ROW));
            cluster.primary().execute(cluster.insertReturningId(SoakLoad.ONE_ROW, "'one'"));
            cluster.awaitReplication(Duration.ofSeconds(30));
            SoakCycles cycles = new SoakCycles(this.options, cluster);

            // warm-up: JIT, class loading and the shared event loops and schedulers exist before the baseline
            RoutingConnectionFactory warm = cycles.factory("soak-warm-up");
            cycles.awaitSettled(warm, this.options.settleWithin());
            SoakLoad warmLoad = new SoakLoad(warm, cluster, this.options.operationTimeout(), this.options.writeEvery());
            Mono<Void> warmDone = warmLoad.start(this.options.plainReaders(), this.options.retryReaders(), this.options.transactionReaders(),
                this.options.writers());
            TimeUnit.NANOSECONDS.sleep(this.options.warmUp().toNanos());
            warmLoad.stop();
            warmDone.block(this.options.operationTimeout().plusSeconds(10));
            warm.close().block(Duration.ofSeconds(30));
            warm = null;
            warmLoad = null;
            waitFor(Duration.ofSeconds(15), () -> SoakCluster.sessionsNow(cluster).values().stream().allMatch(n -> n == 0));

            Map<String, Integer> sessionsBefore = SoakCluster.sessionsNow(cluster);
            Map<String, Integer> threadsBefore = JvmCensus.threadGroups();
            // the census first, so that the used heap before counts it as the heap after does
            HeapCensus censusBefore = HeapCensus.take();
            long heapBefore = JvmCensus.heapAfterGc();
            ScenarioRunner.log("soak: baseline: sessions " + sessionsBefore + ", heap " + JvmCensus.mb(heapBefore) + " MB, " + Thread.activeCount()
                + " threads; live instances of the watched classes " + censusBefore.watchedInstances() + ", resolver groups "
                + censusBefore.resolverGroups());

            // the factory, the load and what they hold live in soakUnderLoad() only, so that the heap check below sees them gone
            Phase phase = soakUnderLoad(cluster, cycles);
            waitFor(Duration.ofSeconds(20), () -> {
                Map<String, Integer> now = SoakCluster.sessionsNow(cluster);
                return sessionsBefore.entrySet().stream().allMatch(e -> now.getOrDefault(e.getKey(), 0) <= e.getValue());
            });
            Map<String, Integer> sessionsAfter = SoakCluster.sessionsNow(cluster);
            waitFor(Duration.ofSeconds(20), () -> JvmCensus.newThreads(threadsBefore, JvmCensus.threadGroups()).isEmpty());
            Map<String, Integer> threadsAfter = JvmCensus.threadGroups();
            Map<String, Integer> newThreads = JvmCensus.newThreads(threadsBefore, threadsAfter);
            long heapAfter = JvmCensus.heapAfterGc();
            HeapCensus censusAfter = HeapCensus.take();
            SoakResult result = new SoakResult(this.options, (System.nanoTime() - started) / 1e9, phase.loadSeconds(), List.copyOf(cycles.cycles),
                phase.load(), Recorder.counts(cycles.events), phase.finalNodes(), phase.retired(), phase.acquired(), phase.drained(),
                cycles.retiredMax, cycles.cyclesWithRetired, phase.idleInTransaction(), sessionsBefore, sessionsAfter, heapBefore, heapAfter,
                JvmCensus.count(threadsBefore), JvmCensus.count(threadsAfter), newThreads, phase.acked(), phase.present(), phase.missing(),
                phase.missingCount(), cluster.primary().name(), censusBefore, censusAfter);
            ScenarioRunner.log("soak: " + result.summary());
            return result;
        }
    }

    /** What the soak under load measured, up to the factory's close. */
    private record Phase(double loadSeconds, Map<String, Object> load, List<NodeSnapshot> finalNodes, List<RetiredPool> retired, int acquired,
                         boolean drained, Map<String, Integer> idleInTransaction, int acked, int present, List<Long> missing, int missingCount) {
    }

    private Phase soakUnderLoad(BenchCluster cluster, SoakCycles cycles) throws InterruptedException {
        RoutingConnectionFactory factory = cycles.factory("soak");
        SoakLoad load = new SoakLoad(factory, cluster, this.options.operationTimeout(), this.options.writeEvery());
        Mono<Void> done;
        long loadStart;
        try {
            cycles.awaitSettled(factory, this.options.settleWithin());
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
                cycles.cycle(i, factory);
            }
            load.stop();
            done.block(this.options.operationTimeout().plusSeconds(10));
        } catch (RuntimeException | InterruptedException | Error error) {
            load.stop();
            factory.close().block(Duration.ofSeconds(30));
            throw error;
        }
        long loadNanos = System.nanoTime() - loadStart;
        ScenarioRunner.log("soak: " + cycles.cycles.size() + " cycles done in " + ScenarioRunner.fmt(loadNanos / 1e9) + " s; checking");

        // 1. no connection lent from any pool, retired ones included
        boolean drained = waitFor(Duration.ofSeconds(15), () -> lent(factory) == 0);
        List<NodeSnapshot> finalNodes = factory.nodes();
        List<RetiredPool> retired = factory.retiredPools();
        int acquired = lent(factory);
        // 2. no session idle in a transaction (the pools' idle connections are still open here)
        waitFor(Duration.ofSeconds(5), () -> SoakCluster.idleInTransaction(cluster).values().stream().allMatch(n -> n == 0));
        Map<String, Integer> idleInTransaction = SoakCluster.idleInTransaction(cluster);
        // 3. every acknowledged write on the final primary
        long[] acked = load.acknowledged();
        long[] present = SoakCluster.idsOn(cluster.primary(), SoakLoad.WRITES);
        List<Long> missing = SoakCluster.missing(acked, present);
        Map<String, Object> loadFigures = loadFigures(load, loadNanos);
        factory.close().block(Duration.ofSeconds(30));
        return new Phase(loadNanos / 1e9, loadFigures, finalNodes, retired, acquired, drained, idleInTransaction, acked.length, present.length,
            List.copyOf(missing.subList(0, Math.min(missing.size(), 20))), missing.size());
    }

    // ---------------------------------------------------------------- checks

    private static int lent(RoutingConnectionFactory factory) {
        return factory.nodes().stream().mapToInt(NodeSnapshot::acquired).sum()
            + factory.retiredPools().stream().mapToInt(RetiredPool::acquired).sum();
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
        Map<String, String> first = new java.util.TreeMap<>();
        load.firstErrors.forEach((type, error) -> first.put(type, Recorder.trace(error, 8)));
        figures.put("firstFailureByType", first);
        first.forEach((type, trace) -> {
            if (type.startsWith("read+retry")) {
                ScenarioRunner.log("soak: a read through retryReads() failed: " + trace);
            }
        });
        return figures;
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
