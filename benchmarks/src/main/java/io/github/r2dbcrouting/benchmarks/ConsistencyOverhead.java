package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.github.r2dbcrouting.ConsistencySession;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.testkit.StatementCounter;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.HdrHistogram.ConcurrentHistogram;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What read-your-writes costs, measured side by side on one cluster of either family: writes with
 * and without a {@link ConsistencySession} (releasing a connection that wrote only notes it),
 * writes followed by the session's token ({@code settled()}: the write position read once,
 * shared), and reads with and without one when the replicas have long applied the session's
 * writes (no extra round trip expected). Runs each pair A B B A so that drift on a shared machine
 * hits both. The primary's driver factory counts what its connections send
 * ({@link StatementCounter}), so each write pipeline also says how many statements it cost beyond
 * its {@code INSERT}, the probes' share (measured while idle) taken out.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.ConsistencyOverhead [seconds] [concurrency] [rounds] [postgresql|mariadb]
 * </pre>
 */
public final class ConsistencyOverhead {

    private static final String INSERT = "INSERT INTO rw VALUES (";

    private ConsistencyOverhead() {
    }

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        Family family = args.length > 3 ? Family.parse(args[3]).get(0) : Family.POSTGRESQL;
        try (BenchCluster cluster = family.start(2)) {
            System.out.println(measure(cluster, seconds, concurrency, rounds).markdown());
        }
    }

    /**
     * What one pipeline did over all its slots.
     *
     * @param extraPerOperation  statements and calls sent to the primary beyond the {@code INSERT} per operation, probes taken out (writes only)
     * @param positionPerOperation  write-position queries per operation (writes only)
     */
    record Row(String name, double opsPerSecond, double p50Ms, double p99Ms, double extraPerOperation, double positionPerOperation) {
    }

    /** The rows in order, and the ratios against the plain pipelines. */
    record Figures(Family family, List<Row> rows, int seconds, int concurrency, int rounds) {

        Row row(String name) {
            return this.rows.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
        }

        double ratio(String name, String base) {
            return row(name).opsPerSecond() / row(base).opsPerSecond();
        }

        String markdown() {
            StringBuilder table = new StringBuilder("| pipeline | ops/s | p50 ms | p99 ms | statements beyond the INSERT per write | of them "
                + "write-position queries |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
            for (Row r : this.rows) {
                boolean write = r.name().startsWith("write");
                table.append(String.format(Locale.ROOT, "| %s | %.0f | %.2f | %.2f | %s | %s |%n", r.name(), r.opsPerSecond(), r.p50Ms(), r.p99Ms(),
                    write ? String.format(Locale.ROOT, "%.3f", r.extraPerOperation()) : "", write ? String.format(Locale.ROOT, "%.3f",
                        r.positionPerOperation()) : ""));
            }
            table.append(String.format(Locale.ROOT, "%n%s: write+session / write throughput %.3f; write+session+token / write %.3f; "
                    + "read+session / read %.3f (%d rounds of %d s x 2 per pipeline, concurrency %d)%n", this.family.label,
                ratio("write+session", "write"), ratio("write+session+token", "write"), ratio("read+session", "read"), this.rounds, this.seconds,
                this.concurrency));
            return table.toString();
        }
    }

    /** Makes the table and the factory (the primary counted), measures, closes the factory. */
    static Figures measure(BenchCluster cluster, int seconds, int concurrency, int rounds) {
        cluster.primary().execute("CREATE TABLE rw (id bigint PRIMARY KEY)");
        cluster.awaitReplication(Duration.ofSeconds(30));
        StatementCounter primary = new StatementCounter(cluster.primary().connectionFactory());
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name("consistency-overhead")
            .primary("primary", primary)
            .pool(p -> p.maxSize(concurrency));
        for (BenchNode replica : cluster.replicas()) {
            builder.replica(replica.name(), replica.connectionFactory());
        }
        RoutingConnectionFactory factory = builder.build();
        try {
            return run(factory, primary, cluster, seconds, concurrency, rounds);
        } finally {
            factory.close().block(Duration.ofSeconds(30));
        }
    }

    private static Figures run(RoutingConnectionFactory factory, StatementCounter primary, BenchCluster cluster, int seconds, int concurrency,
                               int rounds) {
        AtomicLong ids = new AtomicLong();
        Supplier<Mono<?>> plainWrite = () -> update(factory, INSERT + ids.incrementAndGet() + ")");
        Supplier<Mono<?>> sessionWrite = () -> update(factory, INSERT + ids.incrementAndGet() + ")")
            .contextWrite(Routing.session(ConsistencySession.create()));
        // what a web filter does for the next request's token: the write, then its position
        Supplier<Mono<?>> sessionWriteToken = () -> {
            ConsistencySession session = ConsistencySession.create();
            return update(factory, INSERT + ids.incrementAndGet() + ")")
                .contextWrite(Routing.session(session))
                .then(session.settled())
                .then(Mono.fromSupplier(session::toToken));
        };

        // a session whose writes every replica has long applied: its reads qualify by the last probe
        ConsistencySession old = ConsistencySession.create();
        update(factory, INSERT + ids.incrementAndGet() + ")").contextWrite(Routing.session(old)).block();
        cluster.awaitReplication(Duration.ofSeconds(30));
        factory.checkHealth().block(Duration.ofSeconds(10));
        String select = "SELECT 1";
        Supplier<Mono<?>> plainRead = () -> query(factory, select).contextWrite(Routing.readOnly());
        Supplier<Mono<?>> sessionRead = () -> query(factory, select).contextWrite(Routing.readOnly()).contextWrite(Routing.session(old));

        for (Supplier<Mono<?>> s : List.of(plainWrite, sessionWrite, sessionWriteToken, plainRead, sessionRead)) {
            measure(s, 1, concurrency);
        }
        // what the probes send to the primary while nothing else runs
        Map<String, Long> idleBefore = primary.snapshot();
        long idleStart = System.nanoTime();
        ScenarioRunner.sleepUntil(idleStart + Duration.ofSeconds(2).toNanos());
        double probesPerSecond = StatementCounter.since(idleBefore, primary.snapshot()).values().stream().mapToLong(Long::longValue).sum()
            / ((System.nanoTime() - idleStart) / 1e9);

        Map<String, Stats> results = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++) {
            for (String name : new String[] {"write", "write+session", "write+session+token", "write+session+token", "write+session", "write"}) {
                Supplier<Mono<?>> operation = name.equals("write") ? plainWrite : name.equals("write+session") ? sessionWrite : sessionWriteToken;
                Map<String, Long> before = primary.snapshot();
                Run run = measure(operation, seconds, concurrency);
                results.computeIfAbsent(name, n -> new Stats()).add(run, StatementCounter.since(before, primary.snapshot()));
            }
        }
        for (int round = 0; round < rounds; round++) {
            for (String name : new String[] {"read", "read+session", "read+session", "read"}) {
                results.computeIfAbsent(name, n -> new Stats()).add(measure(name.equals("read") ? plainRead : sessionRead, seconds, concurrency),
                    Map.of());
            }
        }
        List<Row> rows = results.entrySet().stream().map(e -> e.getValue().row(e.getKey(), probesPerSecond)).toList();
        return new Figures(cluster.family(), rows, seconds, concurrency, rounds);
    }

    private static Mono<Long> update(ConnectionFactory factory, String sql) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> Mono.from(r.getRowsUpdated())).reduce(0L, Long::sum),
            Connection::close);
    }

    private static Mono<Integer> query(ConnectionFactory factory, String sql) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> r.map((row, m) -> ((Number) row.get(0)).intValue())).last(),
            Connection::close);
    }

    private static Run measure(Supplier<Mono<?>> operation, int seconds, int concurrency) {
        ConcurrentHistogram histogram = new ConcurrentHistogram(3);
        LongAdder done = new LongAdder();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        long start = System.nanoTime();
        Flux.range(0, concurrency)
            .flatMap(i -> Mono.defer(() -> {
                    long t0 = System.nanoTime();
                    return operation.get().doOnSuccess(ignored -> {
                        histogram.recordValue(System.nanoTime() - t0);
                        done.increment();
                    });
                })
                .repeat(() -> System.nanoTime() < end)
                .then(), concurrency)
            .blockLast(Duration.ofSeconds(seconds + 60L));
        return new Run(histogram, done.sum(), System.nanoTime() - start);
    }

    private record Run(ConcurrentHistogram histogram, long operations, long nanos) {
    }

    private static final class Stats {

        final ConcurrentHistogram histogram = new ConcurrentHistogram(3);

        long operations;

        long nanos;

        /** Statements and calls beyond the INSERTs, and write-position queries, over the slots. */
        long extra;

        long position;

        void add(Run run, Map<String, Long> sent) {
            this.histogram.add(run.histogram());
            this.operations += run.operations();
            this.nanos += run.nanos();
            sent.forEach((sql, n) -> {
                if (!sql.startsWith(INSERT)) {
                    this.extra += n;
                }
                if (sql.equals("SELECT @@gtid_binlog_pos") || sql.contains("pg_current_wal_insert_lsn()")) {
                    this.position += n;
                }
            });
        }

        Row row(String name, double probesPerSecond) {
            double probes = probesPerSecond * this.nanos / 1e9;
            return new Row(name, this.operations / (this.nanos / 1e9), this.histogram.getValueAtPercentile(50) / 1e6,
                this.histogram.getValueAtPercentile(99) / 1e6, Math.max(0, this.extra - probes) / Math.max(1, this.operations),
                (double) this.position / Math.max(1, this.operations));
        }
    }
}
