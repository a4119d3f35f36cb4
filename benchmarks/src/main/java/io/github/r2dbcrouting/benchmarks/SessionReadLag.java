package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import io.github.r2dbcrouting.ConsistencySession;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.HdrHistogram.ConcurrentHistogram;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What a read under a {@link ConsistencySession} costs while the replicas lag on and off: both
 * replicas' WAL replay is paused and resumed every 250 ms, and each pipeline writes a row under its
 * own session and reads it back at once. Compares the ways a session read can go when no replica
 * has replayed the write yet ({@code sessionWait} 1 s: wait for one; {@code sessionWait} 0: the
 * primary at once), with the same pairs without a session as the control. Runs A B B A on one
 * cluster.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.SessionReadLag [seconds] [concurrency] [toggle ms] [rounds]
 * </pre>
 */
public final class SessionReadLag {

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
        try (PostgresCluster cluster = PostgresCluster.start(2)) {
            cluster.primary().execute("CREATE TABLE lag (id bigint PRIMARY KEY)");
            cluster.awaitReplication(Duration.ofSeconds(30));
            Map<String, RoutingConnectionFactory> factories = new LinkedHashMap<>();
            factories.put("wait for a replica (sessionWait 1s)", factory(cluster, concurrency, Duration.ofSeconds(1)));
            factories.put("the primary at once (sessionWait 0)", factory(cluster, concurrency, Duration.ZERO));
            try {
                System.out.println(run(factories, cluster, seconds, concurrency, toggleMillis, rounds));
            } finally {
                factories.values().forEach(f -> f.close().block(Duration.ofSeconds(30)));
            }
        }
    }

    private static RoutingConnectionFactory factory(PostgresCluster cluster, int concurrency, Duration sessionWait) {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", cluster.primary().connectionFactory())
            .pool(p -> p.maxSize(concurrency))
            .sessionWait(sessionWait);
        for (PostgresNode replica : cluster.replicas()) {
            builder.replica(replica.name(), replica.connectionFactory());
        }
        return builder.build();
    }

    static String run(Map<String, RoutingConnectionFactory> factories, PostgresCluster cluster, int seconds, int concurrency, int toggleMillis,
                      int rounds) {
        AtomicLong ids = new AtomicLong();
        List<String> names = List.copyOf(factories.keySet());
        String control = "no session (control)";
        RoutingConnectionFactory any = factories.get(names.get(0));
        Map<String, Stats> results = new LinkedHashMap<>();
        AtomicBoolean toggling = new AtomicBoolean(true);
        Thread toggler = new Thread(() -> toggle(cluster, toggling, toggleMillis), "replay-toggler");
        toggler.setDaemon(true);
        toggler.start();
        try {
            for (String name : names) {
                measure(factories.get(name), true, ids, 1, concurrency); // warm-up
            }
            List<String> order = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                order.add(control);
                order.addAll(names);
                List<String> back = new ArrayList<>(names);
                Collections.reverse(back);
                order.addAll(back);
                order.add(control);
            }
            for (String name : order) {
                boolean session = !name.equals(control);
                RoutingConnectionFactory factory = session ? factories.get(name) : any;
                results.computeIfAbsent(name, n -> new Stats()).add(measure(factory, session, ids, seconds, concurrency));
            }
        } finally {
            toggling.set(false);
            try {
                toggler.join(10_000);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            for (PostgresNode replica : cluster.replicas()) {
                if (replica.isReplayPaused()) {
                    replica.resumeReplay();
                }
            }
        }
        StringBuilder table = new StringBuilder("| session read | write+read pairs/s | read p50 ms | read p99 ms | read max ms | reads on replicas | stale |\n"
            + "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        results.forEach((name, s) -> table.append(String.format("| %s | %.0f | %.2f | %.2f | %.2f | %.0f%% | %d |%n", name, s.pairsPerSecond(),
            s.reads.getValueAtPercentile(50) / 1e6, s.reads.getValueAtPercentile(99) / 1e6, s.reads.getMaxValue() / 1e6,
            100.0 * s.onReplica / Math.max(1, s.pairs), s.stale)));
        table.append(String.format("%nboth replicas' WAL replay paused and resumed every %d ms; %d rounds of %d s x 2 per row, concurrency %d, each pipeline its own session%n",
            toggleMillis, rounds, seconds, concurrency));
        return table.toString();
    }

    /** Pauses both replicas' replay, then resumes both, every {@code toggleMillis}. */
    private static void toggle(PostgresCluster cluster, AtomicBoolean toggling, int toggleMillis) {
        boolean paused = false;
        long next = System.nanoTime();
        while (toggling.get()) {
            next += Duration.ofMillis(toggleMillis).toNanos();
            for (PostgresNode replica : cluster.replicas()) {
                if (paused) {
                    replica.resumeReplay();
                } else {
                    replica.pauseReplay();
                }
            }
            paused = !paused;
            LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
        }
    }

    private static Run measure(RoutingConnectionFactory factory, boolean underSession, AtomicLong ids, int seconds, int concurrency) {
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
                        Mono<Long> plainWrite = update(factory, "INSERT INTO lag VALUES (" + id + ")");
                        Mono<Seen> plainRead = read(factory, id).contextWrite(Routing.readOnly());
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

    private static Mono<Seen> read(ConnectionFactory factory, long id) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement("SELECT count(*), pg_is_in_recovery() FROM lag WHERE id = " + id).execute())
                .flatMap(r -> r.map((row, m) -> new Seen(row.get(0, Long.class) == 1, Boolean.TRUE.equals(row.get(1, Boolean.class)))))
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

        double pairsPerSecond() {
            return this.pairs / (this.nanos / 1e9);
        }
    }
}
