package io.github.r2dbcrouting.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.RoutingEvent;

/**
 * Runs the end-to-end throughput comparison, the failover scenarios and the consistency
 * measurements against local testkit clusters of one family or both, side by side in one run,
 * and writes {@code report.md}, one JSON file per run and one PNG per scenario to
 * {@code <out>/<timestamp>/}.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.ScenarioRunner [options]
 *   --family=postgresql|mariadb|both                          (default: postgresql)
 *   --scenarios=replica-kill,replica-freeze,replica-freeze-defaults,replica-pause-replay,primary-kill,primary-failover   (default: all)
 *   --duration=12 --fault-at=3 --recover-at=7     seconds of each scenario run
 *   --concurrency=16 --retry-readers=8            readers, of which that many use Routing.retryReads()
 *   --throughput-seconds=10 --throughput-rounds=2 per family
 *   --no-throughput | --no-scenarios | --no-consistency
 *   --consistency-seconds=3                       per slot of the read-your-writes stress and the session write cost
 *   --warm-up=6                                   seconds of an unrecorded replica-kill run per family first (JIT, class loading); 0: none
 *   --out=benchmarks/reports
 *
 * ... ScenarioRunner --soak [--family=mariadb] [--cycles=1000] [--seed=11] [--max-minutes=N] [--out=benchmarks/reports]
 *   the soak alone: a steady load while faults picked at random are injected and undone, then
 *   the leak checks (see {@link Soak}); one soak per family; exits with 1 when a check fails
 * </pre>
 *
 * <p>With both families each scenario runs on PostgreSQL and then on MariaDB before the next
 * scenario starts, so that the machine's load drifts alike over both.
 */
public final class ScenarioRunner {

    private ScenarioRunner() {
    }

    /** What to run. */
    public record Options(List<Family> families, List<String> scenarios, int durationSeconds, double faultAtSeconds, double recoverAtSeconds,
                          boolean throughput, int throughputSeconds, int throughputRounds, int concurrency, int retryReaders, int writers,
                          Duration writeEvery, Duration operationTimeout, boolean consistency, int consistencySeconds, int warmUpSeconds,
                          Path out) {

        static final List<String> ALL_SCENARIOS = Arrays.stream(Scenario.values()).map(Scenario::id).toList();

        /** The full suite with the settings, on PostgreSQL. */
        public static Options defaults() {
            return new Options(List.of(Family.POSTGRESQL), ALL_SCENARIOS, 12, 3, 7, true, 10, 2, 16, 8, 2, Duration.ofMillis(20),
                Duration.ofSeconds(2), true, 3, 6, Path.of("benchmarks", "reports"));
        }

        /** A short run of the scenarios alone: no warm-up, no throughput comparison, no consistency measurements. */
        static Options scenariosOnly(List<Family> families, List<String> scenarios, int duration, double faultAt, double recoverAt, Path out) {
            Options d = defaults();
            return new Options(families, scenarios, duration, faultAt, recoverAt, false, 0, 0, d.concurrency, d.retryReaders, d.writers,
                d.writeEvery, d.operationTimeout, false, 0, 0, out);
        }

        /** A short throughput comparison alone: no warm-up, no scenarios, no consistency measurements. */
        static Options throughputOnly(List<Family> families, int seconds, int rounds, Path out) {
            Options d = defaults();
            return new Options(families, List.of(), d.durationSeconds, d.faultAtSeconds, d.recoverAtSeconds, true, seconds, rounds,
                d.concurrency, d.retryReaders, d.writers, d.writeEvery, d.operationTimeout, false, 0, 0, out);
        }

        /** These options with other scenario times. */
        Options withTimes(int duration, double faultAt, double recoverAt) {
            return new Options(this.families, this.scenarios, duration, faultAt, recoverAt, this.throughput, this.throughputSeconds,
                this.throughputRounds, this.concurrency, this.retryReaders, this.writers, this.writeEvery, this.operationTimeout, this.consistency,
                this.consistencySeconds, this.warmUpSeconds, this.out);
        }

        static Options parse(String[] args) {
            Options d = defaults();
            List<Family> families = d.families;
            List<String> scenarios = d.scenarios;
            int duration = d.durationSeconds;
            double faultAt = d.faultAtSeconds;
            double recoverAt = d.recoverAtSeconds;
            boolean throughput = d.throughput;
            int throughputSeconds = d.throughputSeconds;
            int throughputRounds = d.throughputRounds;
            int concurrency = d.concurrency;
            int retryReaders = d.retryReaders;
            boolean consistency = d.consistency;
            int consistencySeconds = d.consistencySeconds;
            int warmUp = d.warmUpSeconds;
            Path out = d.out;
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                String value = kv.length > 1 ? kv[1] : "";
                switch (kv[0]) {
                    case "--family" -> families = Family.parse(value);
                    case "--scenarios" -> scenarios = List.of(value.split(","));
                    case "--no-scenarios" -> scenarios = List.of();
                    case "--duration" -> duration = Integer.parseInt(value);
                    case "--fault-at" -> faultAt = Double.parseDouble(value);
                    case "--recover-at" -> recoverAt = Double.parseDouble(value);
                    case "--no-throughput" -> throughput = false;
                    case "--throughput-seconds" -> throughputSeconds = Integer.parseInt(value);
                    case "--throughput-rounds" -> throughputRounds = Integer.parseInt(value);
                    case "--concurrency" -> concurrency = Integer.parseInt(value);
                    case "--retry-readers" -> retryReaders = Integer.parseInt(value);
                    case "--no-consistency" -> consistency = false;
                    case "--consistency-seconds" -> consistencySeconds = Integer.parseInt(value);
                    case "--warm-up" -> warmUp = Integer.parseInt(value);
                    case "--out" -> out = Path.of(value);
                    default -> throw new IllegalArgumentException("unknown option '" + arg + "'; see the Javadoc of ScenarioRunner");
                }
            }
            for (String id : scenarios) {
                Scenario.of(id);
            }
            if (!(0 <= faultAt && faultAt < recoverAt && recoverAt < duration)) {
                throw new IllegalArgumentException("need 0 <= fault-at < recover-at < duration, was " + faultAt + ", " + recoverAt + ", " + duration);
            }
            if (retryReaders < 0 || retryReaders > concurrency) {
                throw new IllegalArgumentException("--retry-readers must be between 0 and --concurrency (" + concurrency + "), was " + retryReaders);
            }
            return new Options(families, scenarios, duration, faultAt, recoverAt, throughput, throughputSeconds, throughputRounds, concurrency,
                retryReaders, d.writers, d.writeEvery, d.operationTimeout, consistency, consistencySeconds, warmUp, out);
        }

        /** Readers without {@code retryReads()}. */
        int plainReaders() {
            return this.concurrency - this.retryReaders;
        }
    }

    public static void main(String[] args) {
        try {
            runMain(args);
        } catch (Throwable error) {
            // exit in any case: a thread a failed run left behind must not keep the JVM (and its clusters' processes) alive
            error.printStackTrace();
            System.exit(1);
        }
    }

    private static void runMain(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        if (PatroniScenarios.requested(args)) {
            PatroniScenarios.run(Options.parse(Arrays.stream(args).filter(arg -> !arg.equals("--patroni")).toArray(String[]::new)).out());
            System.exit(0);
        }
        if (Soak.requested(args)) {
            boolean passed = true;
            for (Family family : families(args)) {
                passed &= Soak.run(SoakOptions.parse(args).withFamily(family)).passed();
            }
            System.exit(passed ? 0 : 1);
        }
        Path directory = run(Options.parse(args)).directory();
        System.out.println();
        System.out.println(Files.readString(directory.resolve("report.md")));
        System.out.println("Report written to " + directory.toAbsolutePath());
        System.exit(0);
    }

    private static List<Family> families(String[] args) {
        for (String arg : args) {
            if (arg.startsWith("--family=")) {
                return Family.parse(arg.substring("--family=".length()));
            }
        }
        return List.of(Family.POSTGRESQL);
    }

    /**
     * What a run wrote and measured.
     *
     * @param directory    the report's directory
     * @param throughput   one result per family, empty when not measured
     * @param scenarios    one result per scenario and family run, in order
     * @param consistency  one result per family, empty when not measured
     */
    public record Run(Path directory, List<ThroughputResult> throughput, List<ScenarioResult> scenarios, List<ConsistencyResult> consistency) {
    }

    /**
     * Runs what {@code options} says and writes the report.
     *
     * @return the report's directory and the results
     */
    public static Run run(Options options) throws IOException, InterruptedException {
        System.setProperty("java.awt.headless", "true");
        Path directory = options.out().resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(directory);
        Report report = new Report(directory, options);
        for (Family family : options.families()) {
            String problem = family.unavailableReason();
            if (problem != null) {
                throw new IllegalStateException(family.label + " cannot run on this machine: " + problem);
            }
        }
        List<ThroughputResult> throughput = new ArrayList<>();
        List<ScenarioResult> results = new ArrayList<>();
        List<ConsistencyResult> consistency = new ArrayList<>();
        try {
            if (options.throughput()) {
                for (Family family : options.families()) {
                    ThroughputResult result = Throughput.run(family, options);
                    throughput.add(result);
                    report.throughput(result);
                }
            }
            if (options.warmUpSeconds() > 0 && !options.scenarios().isEmpty()) {
                Path warmUp = Files.createDirectories(directory.resolve("warm-up"));
                int seconds = options.warmUpSeconds();
                for (Family family : options.families()) {
                    ScenarioRun.run(Scenario.REPLICA_KILL, family, options.withTimes(seconds, seconds / 3.0, seconds * 2 / 3.0), warmUp);
                }
            }
            for (String id : options.scenarios()) {
                for (Family family : options.families()) {
                    ScenarioResult result = ScenarioRun.run(Scenario.of(id), family, options, directory);
                    results.add(result);
                    report.scenario(result);
                }
            }
            if (options.consistency()) {
                for (Family family : options.families()) {
                    ConsistencyResult result = ConsistencyResult.measure(family, options.consistencySeconds());
                    consistency.add(result);
                    report.consistency(result);
                }
            }
        } finally {
            // what was measured is written, also when a later part failed
            report.finish();
        }
        return new Run(directory, List.copyOf(throughput), List.copyOf(results), List.copyOf(consistency));
    }

    /** One recorded routing event, with its offset from the start of the load. */
    record Event(double seconds, RoutingEvent event) {
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

    static String fmt(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.2f", value);
    }

    static void log(String message) {
        System.out.println("[" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")) + "] " + message);
    }

    static String machine() {
        return Runtime.getRuntime().availableProcessors() + " cores, load average "
            + String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage())
            + ", Java " + System.getProperty("java.version");
    }
}
