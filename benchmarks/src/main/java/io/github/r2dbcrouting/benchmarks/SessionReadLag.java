package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import io.github.r2dbcrouting.ConsistencySession;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.HdrHistogram.ConcurrentHistogram;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Read-your-writes under stress, on a cluster of either family: both replicas' replication is
 * paused and resumed every 250 ms ({@code pg_wal_replay_pause()} / {@code STOP REPLICA SQL_THREAD}
 * and back, on connections held open), and each pipeline writes a row under its own
 * {@link ConsistencySession} and reads it back at once. Compares the ways a session read can go
 * when no replica has applied the write yet ({@code sessionWait} 1 s: wait for one;
 * {@code sessionWait} 0: the primary at once) with the same pairs without a session as the
 * control, whose stale reads show that the lag was real. Runs A B B A on one cluster.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.SessionReadLag [seconds] [concurrency] [toggle ms] [rounds] [postgresql|mariadb]
 * </pre>
 */
public final class SessionReadLag {

    static final String CONTROL = "no session (control)";

    static final String WAIT = "session, wait for a replica (sessionWait 1s)";

    static final String AT_ONCE = "session, the primary at once (sessionWait 0)";

    private SessionReadLag() {
    }

    /** What one read saw. */
    private record Seen(boolean found, boolean onReplica) {
    }

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int toggleMillis = args.length > 2 ? Integer.parseInt(args[2]) : 250;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        Family family = args.length > 4 ? Family.parse(args[4]).get(0) : Family.POSTGRESQL;
        try (BenchCluster cluster = family.start(2)) {
            System.out.println(measure(cluster, seconds, concurrency, toggleMillis, rounds).markdown());
        }
    }

    /**
     * One row: write+read pairs, the read's latency, where it ran and how many did not see their write.
     */
    record Row(String name, long pairs, double pairsPerSecond, double p50Ms, double p99Ms, double maxMs, long onReplica, long stale) {
    }

    /** The rows, and how often replication was really switched. */
    record Figures(Family family, List<Row> rows, long toggles, double toggledSeconds, int seconds, int concurrency, int toggleMillis,
                   int rounds) {

        Row row(String name) {
            return this.rows.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
        }

        String markdown() {
            StringBuilder table = new StringBuilder("| reads | write+read pairs | pairs/s | read p50 ms | read p99 ms | read max ms | reads on replicas "
                + "| stale |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for (Row r : this.rows) {
                table.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.2f | %.2f | %.2f | %.0f%% | %d |%n", r.name(), r.pairs(),
                    r.pairsPerSecond(), r.p50Ms(), r.p99Ms(), r.maxMs(), 100.0 * r.onReplica() / Math.max(1, r.pairs()), r.stale()));
            }
            table.append(String.format(Locale.ROOT, "%n%s: both replicas' replication paused and resumed every %d ms (%d switches in %.1f s); "
                + "%d rounds of %d s x 2 per row, concurrency %d, each pipeline its own session%n", this.family.label, this.toggleMillis,
                this.toggles, this.toggledSeconds, this.rounds, this.seconds, this.concurrency));
            return table.toString();
        }
    }

    /** Makes the table and the two factories, measures, closes them. */
    static Figures measure(BenchCluster cluster, int seconds, int concurrency, int toggleMillis, int rounds) {
        cluster.primary().execute("CREATE TABLE ryw (id bigint PRIMARY KEY)");
        cluster.awaitReplication(Duration.ofSeconds(30));
        Map<String, RoutingConnectionFactory> factories = new LinkedHashMap<>();
        factories.put(WAIT, factory(cluster, concurrency, Duration.ofSeconds(1)));
        factories.put(AT_ONCE, factory(cluster, concurrency, Duration.ZERO));
        try {
            return run(factories, cluster, seconds, concurrency, toggleMillis, rounds);
        } finally {
            factories.values().forEach(f -> f.close().block(Duration.ofSeconds(30)));
        }
    }

    private static RoutingConnectionFactory factory(BenchCluster cluster, int concurrency, Duration sessionWait) {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", cluster.primary().connectionFactory())
            .pool(p -> p.maxSize(concurrency))
            .sessionWait(sessionWait);
        for (BenchNode replica : cluster.replicas()) {
            builder.replica(replica.name(), replica.connectionFactory());
        }
        return builder.build();
    }

    private static Figures run(Map<String, RoutingConnectionFactory> factories, BenchCluster cluster, int seconds, int concurrency,
                               int toggleMillis, int rounds) {
        AtomicLong ids = new AtomicLong();
        List<String> names = List.copyOf(factories.keySet());
        RoutingConnectionFactory any = factories.get(names.get(0));
        String readSql = "SELECT count(*), " + cluster.portExpression() + " FROM ryw WHERE id = ";
        int primaryPort = cluster.primary().port();
        Map<String, Stats> results = new LinkedHashMap<>();
        AtomicBoolean toggling = new AtomicBoolean(true);
        LongAdder toggles = new LongAdder();
        long toggleStart = System.nanoTime();
        long[] toggleEnd = {0};
        Thread toggler;
        try (BenchCluster.ReplayToggle toggle = cluster.replayToggle()) {
            toggler = new Thread(() -> {
                toggle(toggle, toggling, toggleMillis, toggles);
                toggleEnd[0] = System.nanoTime();
            }, "replay-toggler");
            toggler.setDaemon(true);
            toggler.start();
            try {
                for (String name : names) {
                    measure(factories.get(name), true, readSql, primaryPort, ids, 1, concurrency); // warm-up
                }
                List<String> order = new ArrayList<>();
                for (int round = 0; round < rounds; round++) {
                    order.add(CONTROL);
                    order.addAll(names);
                    List<String> back = new ArrayList<>(names);
                    Collections.reverse(back);
                    order.addAll(back);
                    order.add(CONTROL);
                }
                for (String name : order) {
                    boolean session = !name.equals(CONTROL);
                    RoutingConnectionFactory factory = session ? factories.get(name) : any;
                    results.computeIfAbsent(name, n -> new Stats()).add(measure(factory, session, readSql, primaryPort, ids, seconds, concurrency));
                }
            } finally {
                toggling.set(false);
                try {
                    toggler.join(10_000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        results.forEach((name, s) -> rows.add(new Row(name, s.pairs, s.pairs / (s.nanos / 1e9), s.reads.getValueAtPercentile(50) / 1e6,
            s.reads.getValueAtPercentile(99) / 1e6, s.reads.getMaxValue() / 1e6, s.onReplica, s.stale)));
        return new Figures(cluster.family(), List.copyOf(rows), toggles.sum(), (toggleEnd[0] - toggleStart) / 1e9, seconds, concurrency,
            toggleMillis, rounds);
    }

    /** Pauses both replicas' replication, then resumes both, every {@code toggleMillis}. */
    private static void toggle(BenchCluster.ReplayToggle toggle, AtomicBoolean toggling, int toggleMillis, LongAdder toggles) {
        boolean paused = false;
        long next = System.nanoTime();
        while (toggling.get()) {
            next += Duration.ofMillis(toggleMillis).toNanos();
            if (paused) {
                toggle.resume();
            } else {
                toggle.pause();
            }
            toggles.increment();
            paused = !paused;
            LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
        }
    }

    private static Run measure(RoutingConnectionFactory factory, boolean underSession, String readSql, int primaryPort, AtomicLong ids,
                               int seconds, int concurrency) {
        ConcurrentHistogram reads = new ConcurrentHistogram(3);
        LongAdder pairs = new LongAdder();
        LongAdder stale = new LongAdder();
        LongAdder onReplica = new LongAdder();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        long start = System.nanoTime();
        Flux.range(0, concurrency)
            .flatMap(i -> {
                ConsistencySession session = ConsistencySession.create();
                return Mono.defer(() -> {
                        long id = ids.incrementAndGet();
                        Mono<Long> plainWrite = update(factory, "INSERT INTO ryw VALUES (" + id + ")");
                        Mono<Seen> plainRead = read(factory, readSql + id, primaryPort).contextWrite(Routing.readOnly());
                        Mono<Long> write = underSession ? plainWrite.contextWrite(Routing.session(session)) : plainWrite;
                        Mono<Seen> read = underSession ? plainRead.contextWrite(Routing.session(session)) : plainRead;
                        Mono<Seen> timedRead = Mono.defer(() -> {
                            long t0 = System.nanoTime();
                            return read.doOnNext(seen -> reads.recordValue(System.nanoTime() - t0));
                        });
                        return write.then(timedRead).doOnNext(seen -> {
                            pairs.increment();
                            if (!seen.found()) {
                                stale.increment();
                            }
                            if (seen.onReplica()) {
                                onReplica.increment();
                            }
                        });
                    })
                    .repeat(() -> System.nanoTime() < end)
                    .then();
            }, concurrency)
            .blockLast(Duration.ofSeconds(seconds + 60L));
        return new Run(reads, pairs.sum(), stale.sum(), onReplica.sum(), System.nanoTime() - start);
    }

    private static Mono<Long> update(ConnectionFactory factory, String sql) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> Mono.from(r.getRowsUpdated())).reduce(0L, Long::sum),
            Connection::close);
    }

    /** Whether the row is there, and whether a replica answered (by its port, which MariaDB reports in a query on a table as it is). */
    private static Mono<Seen> read(ConnectionFactory factory, String sql, int primaryPort) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement(sql).execute())
                .flatMap(r -> r.map((row, m) -> new Seen(((Number) row.get(0)).longValue() == 1, ((Number) row.get(1)).intValue() != primaryPort)))
                .single(),
            Connection::close);
    }

    private record Run(ConcurrentHistogram reads, long pairs, long stale, long onReplica, long nanos) {
    }

    private static final class Stats {

        final ConcurrentHistogram reads = new ConcurrentHistogram(3);

        long pairs;

        long stale;

        long onReplica;

        long nanos;

        void add(Run run) {
            this.reads.add(run.reads());
            this.pairs += run.pairs();
            this.stale += run.stale();
            this.onReplica += run.onReplica();
            this.nanos += run.nanos();
        }
    }
}
