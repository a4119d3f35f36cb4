package io.github.r2dbcrouting.benchmarks;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.github.r2dbcrouting.HealthSettings;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.RetiredPool;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingEvent;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import reactor.core.publisher.Mono;

/**
 * Runs the end-to-end throughput comparison and the failover scenarios against local testkit
 * clusters, and writes {@code report.md}, one JSON file per run and one PNG per scenario to
 * {@code <out>/<timestamp>/}.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.ScenarioRunner [options]
 *   --scenarios=replica-kill,replica-freeze,replica-freeze-defaults,replica-pause-replay,primary-kill   (default: all)
 *   --duration=12 --fault-at=3 --recover-at=7     seconds of each scenario run
 *   --throughput-seconds=10 --throughput-rounds=2 --concurrency=16
 *   --no-throughput | --no-scenarios
 *   --out=benchmarks/reports
 *
 * ... ScenarioRunner --soak [--cycles=1000] [--seed=11] [--out=benchmarks/reports]
 *   the soak alone: a steady load while faults picked at random are injected and undone, then
 *   the leak checks (see {@link Soak}); exits with 1 when a check fails
 * </pre>
 */
public final class ScenarioRunner {

    static final String READ_SQL = "SELECT inet_server_port()";

    static final String WRITE_SQL = "INSERT INTO bench_writes (payload) VALUES (repeat('x', 1000))";

    private ScenarioRunner() {
    }

    /** What to run. */
    public record Options(List<String> scenarios, int durationSeconds, double faultAtSeconds, double recoverAtSeconds,
                          boolean throughput, int throughputSeconds, int throughputRounds, int concurrency, int writers,
                          Duration writeEvery, Duration operationTimeout, Path out) {

        /** The full suite with the settings. */
        public static Options defaults() {
            return new Options(List.of("replica-kill", "replica-freeze", "replica-freeze-defaults", "replica-pause-replay", "primary-kill"), 12, 3, 7,
                true, 10, 2,
                16, 2, Duration.ofMillis(20), Duration.ofSeconds(2), Path.of("benchmarks", "reports"));
        }

        static Options parse(String[] args) {
            Options o = defaults();
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                String value = kv.length > 1 ? kv[1] : "";
                o = switch (kv[0]) {
                    case "--scenarios" -> new Options(List.of(value.split(",")), o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--no-scenarios" -> new Options(List.of(), o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--duration" -> new Options(o.scenarios, Integer.parseInt(value), o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--fault-at" -> new Options(o.scenarios, o.durationSeconds, Double.parseDouble(value), o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--recover-at" -> new Options(o.scenarios, o.durationSeconds, o.faultAtSeconds, Double.parseDouble(value),
                        o.throughput, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--no-throughput" -> new Options(o.scenarios, o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        false, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--throughput-seconds" -> new Options(o.scenarios, o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, Integer.parseInt(value), o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--throughput-rounds" -> new Options(o.scenarios, o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, Integer.parseInt(value), o.concurrency, o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--concurrency" -> new Options(o.scenarios, o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, o.throughputRounds, Integer.parseInt(value), o.writers, o.writeEvery, o.operationTimeout, o.out);
                    case "--out" -> new Options(o.scenarios, o.durationSeconds, o.faultAtSeconds, o.recoverAtSeconds,
                        o.throughput, o.throughputSeconds, o.throughputRounds, o.concurrency, o.writers, o.writeEvery, o.operationTimeout, Path.of(value));
                    default -> throw new IllegalArgumentException("unknown option '" + arg + "'; see the Javadoc of ScenarioRunner");
                };
            }
            for (String id : o.scenarios) {
                Scenario.of(id);
            }
            if (!(0 <= o.faultAtSeconds && o.faultAtSeconds < o.recoverAtSeconds && o.recoverAtSeconds < o.durationSeconds)) {
                throw new IllegalArgumentException("need 0 <= fault-at < recover-at < duration, was " + o.faultAtSeconds + ", "
                    + o.recoverAtSeconds + ", " + o.durationSeconds);
            }
            return o;
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        if (PatroniScenarios.requested(args)) {
            PatroniScenarios.run(Options.defaults().out());
            System.exit(0);
        }
        if (Soak.requested(args)) {
            SoakResult result = Soak.run(SoakOptions.parse(args));
            System.exit(result.passed() ? 0 : 1);
        }
        Path directory = run(Options.parse(args)).directory();
        System.out.println();
        System.out.println(Files.readString(directory.resolve("report.md")));
        System.out.println("Report written to " + directory.toAbsolutePath());
        System.exit(0);
    }

    /**
     * What a run wrote and measured.
     *
     * @param directory  the report's directory
     * @param scenarios  one result per scenario run, in order
     */
    public record Run(Path directory, List<ScenarioResult> scenarios) {
    }

    /**
     * Runs what {@code options} says and writes the report.
     *
     * @return the report's directory and the scenario results
     */
    public static Run run(Options options) throws IOException, InterruptedException {
        System.setProperty("java.awt.headless", "true");
        Path directory = options.out().resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(directory);
        Report report = new Report(directory, options);
        if (options.throughput()) {
            report.throughput(Throughput.run(options));
        }
        List<ScenarioResult> results = new ArrayList<>();
        for (String id : options.scenarios()) {
            ScenarioResult result = scenario(Scenario.of(id), options, directory);
            results.add(result);
            report.scenario(result);
        }
        report.finish();
        return new Run(directory, List.copyOf(results));
    }

    // ---------------------------------------------------------------- scenarios

    /** One recorded routing event, with its offset from the start of the load. */
    record Event(double seconds, RoutingEvent event) {
    }

    static ScenarioResult scenario(Scenario scenario, Options options, Path directory) throws InterruptedException {
        log("scenario " + scenario.id() + ": starting a cluster with 2 replicas");
        HealthSettings health = scenario.health(HealthSettings.builder()).build();
        Duration operationTimeout = scenario.operationTimeout(options.operationTimeout());
        PoolSettings pool = PoolSettings.builder().maxSize(options.concurrency()).build();
        try (PostgresCluster cluster = PostgresCluster.start(2)) {
            cluster.primary().execute("CREATE TABLE bench_writes (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text)");
            cluster.awaitReplication(Duration.ofSeconds(10));
            Map<Integer, String> nodeByPort = new LinkedHashMap<>();
            for (PostgresNode node : cluster.nodes()) {
                nodeByPort.put(node.port(), node.name());
            }
            List<Event> events = Collections.synchronizedList(new ArrayList<>());
            long[] origin = {System.nanoTime()};
            RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
                .name(scenario.id())
                .primary("primary", cluster.primary().connectionFactory())
                .replica("replica-1", cluster.replicas().get(0).connectionFactory())
                .replica("replica-2", cluster.replicas().get(1).connectionFactory())
                .pool(pool)
                .health(health)
                .listener(event -> events.add(new Event((System.nanoTime() - origin[0]) / 1e9, event)))
                .build();
            PostgresNode target = cluster.node(scenario.target);
            int buckets = options.durationSeconds() * 10 + 1;
            ScheduledExecutorService faults = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread thread = new Thread(r, "scenario-faults");
                thread.setDaemon(true);
                return thread;
            });
            double[] marks = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
            Recorder recorder;
            int acquiredAtEnd;
            List<NodeSnapshot> finalNodes;
            try {
                origin[0] = System.nanoTime();
                long start = origin[0];
                recorder = new Recorder(start, buckets, seconds(options.faultAtSeconds()));
                Load load = new Load(recorder, factory, Routing.readOnly(), READ_SQL, factory, WRITE_SQL, operationTimeout,
                    options.writeEvery());
                Mono<Void> done = load.start(options.concurrency(), options.writers());
                ScheduledFuture<?> fault = faults.schedule(() -> {
                    marks[0] = (System.nanoTime() - start) / 1e9;
                    log(scenario.id() + ": " + scenario.fault + " on '" + target.name() + "' at " + fmt(marks[0]) + " s");
                    scenario.inject(target);
                    marks[1] = (System.nanoTime() - start) / 1e9;
                }, seconds(options.faultAtSeconds()), TimeUnit.NANOSECONDS);
                ScheduledFuture<?> recovery = faults.schedule(() -> {
                    marks[2] = (System.nanoTime() - start) / 1e9;
                    scenario.recover(target);
                    marks[3] = (System.nanoTime() - start) / 1e9;
                    log(scenario.id() + ": " + scenario.recovery + " of '" + target.name() + "' done at " + fmt(marks[3]) + " s");
                }, seconds(options.recoverAtSeconds()), TimeUnit.NANOSECONDS);
                sleepUntil(start + TimeUnit.SECONDS.toNanos(options.durationSeconds()));
                load.stop();
                done.block(operationTimeout.plusSeconds(10));
                await(fault);
                await(recovery);
                acquiredAtEnd = drainedAcquired(factory, Duration.ofSeconds(5));
                finalNodes = factory.nodes();
            } finally {
                faults.shutdownNow();
                factory.close().block(Duration.ofSeconds(30));
            }
            List<Event> seen;
            synchronized (events) {
                seen = new ArrayList<>(events);
            }
            Event ejection = first(seen, RoutingEvent.Type.EJECTED, target.name(), marks[0]);
            Event readmission = first(seen, RoutingEvent.Type.READMITTED, target.name(), marks[2]);
            ScenarioResult result = new ScenarioResult(scenario, options, health, pool, operationTimeout, recorder, buckets, marks, ejection,
                readmission, seen, nodeByPort, acquiredAtEnd, finalNodes);
            try {
                Charts.scenario(directory.resolve("scenario-" + scenario.id() + ".png"),
                    scenario.id() + ": " + scenario.fault + " on " + target.name() + ", " + scenario.recovery + " at "
                        + fmt(options.recoverAtSeconds()) + " s (health every " + health.interval().toMillis() + " ms, timeout "
                        + health.timeout().toMillis() + " ms)", recorder, buckets,
                    new Charts.Mark("fault", marks[0], Color.RED),
                    new Charts.Mark("ejected", ejection == null ? Double.NaN : ejection.seconds(), new Color(0x9467bd)),
                    new Charts.Mark("recovered", marks[3], new Color(0x2ca02c)),
                    new Charts.Mark("readmitted", readmission == null ? Double.NaN : readmission.seconds(), new Color(0x17becf)));
            } catch (IOException error) {
                throw new UncheckedIOException(error);
            }
            log(scenario.id() + ": " + result.summary());
            return result;
        }
    }

    private static Event first(List<Event> events, RoutingEvent.Type type, String node, double after) {
        if (Double.isNaN(after)) {
            return null;
        }
        for (Event event : events) {
            if (event.event().type() == type && node.equals(event.event().node()) && event.seconds() >= after) {
                return event;
            }
        }
        return null;
    }

    /** Polls until no pool, retired ones included, has a connection acquired, or the deadline; returns the last count. */
    private static int drainedAcquired(RoutingConnectionFactory factory, Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            int acquired = factory.nodes().stream().mapToInt(NodeSnapshot::acquired).sum()
                + factory.retiredPools().stream().mapToInt(RetiredPool::acquired).sum();
            if (acquired == 0 || System.nanoTime() > deadline) {
                return acquired;
            }
            Thread.sleep(20);
        }
    }

    private static void await(ScheduledFuture<?> future) throws InterruptedException {
        try {
            future.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException error) {
            throw new IllegalStateException("fault injection failed: " + error.getCause(), error.getCause());
        } catch (TimeoutException error) {
            throw new IllegalStateException("fault injection did not finish within 60 s", error);
        }
    }

    /** The runner's clock: it waits until a fixed point of the run (the load runs on other threads). */
    static void sleepUntil(long nanoTime) {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(Math.min(left, 50_000_000L));
            } catch (InterruptedException error) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", error);
            }
        }
    }

    private static long seconds(double seconds) {
        return (long) (seconds * 1e9);
    }

    static String fmt(double value) {
        return Double.isNaN(value) ? "-" : String.format(java.util.Locale.ROOT, "%.2f", value);
    }

    static void log(String message) {
        System.out.println("[" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")) + "] " + message);
    }

    static String machine() {
        return Runtime.getRuntime().availableProcessors() + " cores, load average "
            + String.format(java.util.Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage())
            + ", Java " + System.getProperty("java.version");
    }
}
