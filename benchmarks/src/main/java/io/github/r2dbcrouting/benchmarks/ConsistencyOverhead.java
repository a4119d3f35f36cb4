package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.github.r2dbcrouting.ConsistencySession;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.HdrHistogram.ConcurrentHistogram;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What read-your-writes costs, measured side by side on one cluster: writes with and without a
 * {@link ConsistencySession} (releasing a connection that wrote only notes it), writes followed by
 * the session's token ({@code settled()}: the WAL position read once, shared), and
 * reads with and without one when the replicas have long replayed the session's writes (no extra
 * round trip expected). Runs each pair A B B A so that drift on a shared machine hits both.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.ConsistencyOverhead [seconds] [concurrency] [rounds]
 * </pre>
 */
public final class ConsistencyOverhead {

    private ConsistencyOverhead() {
    }

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        try (PostgresCluster cluster = PostgresCluster.start(2)) {
            cluster.primary().execute("CREATE TABLE rw (id bigint PRIMARY KEY)");
            cluster.awaitReplication(Duration.ofSeconds(30));
            RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
                .primary("primary", cluster.primary().connectionFactory())
                .pool(p -> p.maxSize(concurrency));
            for (PostgresNode replica : cluster.replicas()) {
                builder.replica(replica.name(), replica.connectionFactory());
            }
            RoutingConnectionFactory factory = builder.build();
            try {
                System.out.println(run(factory, cluster, seconds, concurrency, rounds));
            } finally {
                factory.close().block(Duration.ofSeconds(30));
            }
        }
    }

    static String run(RoutingConnectionFactory factory, PostgresCluster cluster, int seconds, int concurrency, int rounds) {
        AtomicLong ids = new AtomicLong();
        Supplier<Mono<?>> plainWrite = () -> update(factory, "INSERT INTO rw VALUES (" + ids.incrementAndGet() + ")");
        Supplier<Mono<?>> sessionWrite = () -> update(factory, "INSERT INTO rw VALUES (" + ids.incrementAndGet() + ")")
            .contextWrite(Routing.session(ConsistencySession.create()));
        // what a web filter does for the next request's token: the write, then its position
        Supplier<Mono<?>> sessionWriteToken = () -> {
            ConsistencySession session = ConsistencySession.create();
            return update(factory, "INSERT INTO rw VALUES (" + ids.incrementAndGet() + ")")
                .contextWrite(Routing.session(session))
                .then(session.settled())
                .then(Mono.fromSupplier(session::toToken));
        };

        // a session whose writes every replica has long replayed: its reads qualify by the last probe
        ConsistencySession old = ConsistencySession.create();
        update(factory, "INSERT INTO rw VALUES (" + ids.incrementAndGet() + ")").contextWrite(Routing.session(old)).block();
        cluster.awaitReplication(Duration.ofSeconds(30));
        factory.checkHealth().block(Duration.ofSeconds(10));
        Supplier<Mono<?>> plainRead = () -> query(factory).contextWrite(Routing.readOnly());
        Supplier<Mono<?>> sessionRead = () -> query(factory).contextWrite(Routing.readOnly()).contextWrite(Routing.session(old));

        Map<String, Stats> results = new LinkedHashMap<>();
        warm(plainWrite, sessionWrite, plainRead, sessionRead, concurrency);
        measure(sessionWriteToken, 1, concurrency);
        for (int round = 0; round < rounds; round++) {
            for (String name : new String[] {"write", "write+session", "write+session+token", "write+session+token", "write+session", "write"}) {
                Supplier<Mono<?>> operation = name.equals("write") ? plainWrite : name.equals("write+session") ? sessionWrite : sessionWriteToken;
                results.computeIfAbsent(name, n -> new Stats()).add(measure(operation, seconds, concurrency));
            }
        }
        for (int round = 0; round < rounds; round++) {
            for (String name : new String[] {"read", "read+session", "read+session", "read"}) {
                results.computeIfAbsent(name, n -> new Stats()).add(measure(name.equals("read") ? plainRead : sessionRead, seconds, concurrency));
            }
        }
        StringBuilder table = new StringBuilder("| pipeline | ops/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |\n");
        results.forEach((name, stats) -> table.append(String.format("| %s | %.0f | %.2f | %.2f |%n", name, stats.opsPerSecond(),
            stats.histogram.getValueAtPercentile(50) / 1e6, stats.histogram.getValueAtPercentile(99) / 1e6)));
        table.append(String.format("%nwrite+session / write throughput: %.3f; write+session+token / write: %.3f; read+session / read: %.3f "
                + "(%d rounds of %d s x 2 per pipeline, concurrency %d)%n",
            results.get("write+session").opsPerSecond() / results.get("write").opsPerSecond(),
            results.get("write+session+token").opsPerSecond() / results.get("write").opsPerSecond(),
            results.get("read+session").opsPerSecond() / results.get("read").opsPerSecond(), rounds, seconds, concurrency));
        return table.toString();
    }

    private static void warm(Supplier<Mono<?>> a, Supplier<Mono<?>> b, Supplier<Mono<?>> c, Supplier<Mono<?>> d, int concurrency) {
        for (Supplier<Mono<?>> s : java.util.List.of(a, b, c, d)) {
            measure(s, 1, concurrency);
        }
    }

    private static Mono<Long> update(ConnectionFactory factory, String sql) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> Mono.from(r.getRowsUpdated())).reduce(0L, Long::sum),
            Connection::close);
    }

    private static Mono<Integer> query(ConnectionFactory factory) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement("SELECT 1").execute()).flatMap(r -> r.map((row, m) -> row.get(0, Integer.class))).last(),
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

        void add(Run run) {
            this.histogram.add(run.histogram());
            this.operations += run.operations();
            this.nanos += run.nanos();
        }

        double opsPerSecond() {
            return this.operations / (this.nanos / 1e9);
        }
    }
}
