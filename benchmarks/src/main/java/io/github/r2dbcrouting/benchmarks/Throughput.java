package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactory;
import org.HdrHistogram.Histogram;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

import io.github.r2dbcrouting.benchmarks.ScenarioRunner.Options;

/**
 * The runner's throughput comparison on one family: closed-loop {@code SELECT 1} on a bare
 * r2dbc-pool over replica-1's driver factory (with r2dbc-pool's own defaults, as users of that
 * driver run it) against the routing factory over replica-1 alone and over both replicas, in
 * alternating rounds so that drift hits all alike.
 */
final class Throughput {

    private Throughput() {
    }

    static final String BARE = "bare r2dbc-pool -> replica-1";

    static final String ROUTING_ONE = "routing readOnly() -> replica-1 only";

    static final String ROUTING_TWO = "routing readOnly() -> replica-1 + replica-2";

    private static Function<Context, Context> key(String factory) {
        return factory.equals(BARE) ? Function.identity() : Routing.readOnly();
    }

    /** Runs the comparison on a fresh {@code family} cluster and returns its figures for the report. */
    static ThroughputResult run(Family family, Options options) {
        String log = "throughput " + family.id();
        ScenarioRunner.log(log + ": starting a " + family.label + " cluster with 2 replicas");
        PoolSettings pool = PoolSettings.builder().maxSize(options.concurrency()).build();
        try (BenchCluster cluster = family.start(2)) {
            BenchNode replica = cluster.replicas().get(0);
            RoutingConnectionFactory routing = RoutingConnectionFactory.builder()
                .name("throughput")
                .primary("primary", cluster.primary().connectionFactory())
                .replica("replica-1", replica.connectionFactory())
                .replica("replica-2", cluster.replicas().get(1).connectionFactory())
                .pool(pool)
                .build();
            // the same servers as the bare pool: the primary (unused) and replica-1 alone
            RoutingConnectionFactory routingOne = RoutingConnectionFactory.builder()
                .name("throughput-one")
                .primary("primary", cluster.primary().connectionFactory())
                .replica("replica-1", replica.connectionFactory())
                .pool(pool)
                .build();
            // the baseline as users of this driver run it: r2dbc-pool's own defaults over the driver's
            // factory, sized for the load like ours
            ConnectionPool bare = Pools.bare("bare", replica.connectionFactory(), options.concurrency());
            Map<String, ConnectionFactory> factories = new LinkedHashMap<>();
            factories.put(BARE, bare);
            factories.put(ROUTING_ONE, routingOne);
            factories.put(ROUTING_TWO, routing);
            Map<String, Histogram> latency = new LinkedHashMap<>();
            Map<String, long[]> counts = new LinkedHashMap<>();
            List<Map<String, Object>> rounds = new ArrayList<>();
            try {
                // warm every path (JIT, pools filled), then A B C C B A ... so that drift hits all alike
                List<String> order = new ArrayList<>(factories.keySet());
                for (String name : order) {
                    measure(factories.get(name), key(name), 2, options, null, null);
                }
                for (int round = 0; round < options.throughputRounds(); round++) {
                    Map<String, Double> roundRates = new LinkedHashMap<>();
                    for (String name : order) {
                        ScenarioRunner.log(log + " round " + (round + 1) + ": " + name + " for " + options.throughputSeconds() + " s");
                        long[] c = counts.computeIfAbsent(name, n -> new long[3]);
                        long reads = c[0];
                        long nanos = c[2];
                        measure(factories.get(name), key(name), options.throughputSeconds(), options,
                            latency.computeIfAbsent(name, n -> new Histogram(3_600_000_000L, 3)), c);
                        roundRates.put(name, (c[0] - reads) / ((c[2] - nanos) / 1e9));
                    }
                    // each round's own ratio: the rows ran back to back, so drift between rounds cancels out
                    Map<String, Object> perRound = new LinkedHashMap<>();
                    perRound.put("round", round + 1);
                    perRound.put("order", List.copyOf(order));
                    perRound.put("readsPerSecond", roundRates);
                    perRound.put("ratioOneReplica", roundRates.get(ROUTING_ONE) / roundRates.get(BARE));
                    perRound.put("ratioTwoReplicas", roundRates.get(ROUTING_TWO) / roundRates.get(BARE));
                    ScenarioRunner.log(String.format(Locale.ROOT, "%s round %d: %s; routing one replica / bare %.3f", log, round + 1,
                        roundRates, roundRates.get(ROUTING_ONE) / roundRates.get(BARE)));
                    rounds.add(perRound);
                    Collections.reverse(order);
                }
            } finally {
                routing.close().block(Duration.ofSeconds(30));
                routingOne.close().block(Duration.ofSeconds(30));
                bare.disposeLater().block(Duration.ofSeconds(30));
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("family", family.id());
            result.put("driverFactory", replica.connectionFactory().getClass().getName());
            result.put("query", "SELECT 1");
            result.put("concurrency", options.concurrency());
            result.put("poolMaxSize", options.concurrency());
            result.put("secondsPerRound", options.throughputSeconds());
            result.put("rounds", options.throughputRounds());
            result.put("bareSettings", "r2dbc-pool's own defaults over the " + family.label + " driver's factory, maxSize " + options.concurrency());
            result.put("routingSettings", "the factory's defaults (probes on), maxSize " + options.concurrency());
            List<Map<String, Object>> rows = new ArrayList<>();
            Map<String, Double> rates = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> entry : counts.entrySet()) {
                long[] c = entry.getValue();
                double seconds = c[2] / 1e9;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("factory", entry.getKey());
                row.put("reads", c[0]);
                row.put("failed", c[1]);
                row.put("readsPerSecond", c[0] / seconds);
                row.putAll(Recorder.percentiles(latency.get(entry.getKey())));
                rows.add(row);
                rates.put(entry.getKey(), c[0] / seconds);
            }
            result.put("results", rows);
            result.put("perRound", rounds);
            result.put("ratioOneReplica", rates.get(ROUTING_ONE) / rates.get(BARE));
            result.put("ratioTwoReplicas", rates.get(ROUTING_TWO) / rates.get(BARE));
            return new ThroughputResult(family, result);
        }
    }

    /** One timed closed-loop run of {@code SELECT 1}; adds reads, failures and nanoseconds to {@code counts}. */
    private static void measure(ConnectionFactory factory, Function<Context, Context> key, int seconds, Options options, Histogram into,
                                long[] counts) {
        int buckets = seconds * 10 + 50;
        long origin = System.nanoTime();
        Recorder recorder = new Recorder(origin, buckets, -1);
        Load load = new Load(recorder, factory, key, "SELECT 1", null, null, options.operationTimeout(), options.writeEvery());
        Mono<Void> done = load.start(options.concurrency(), 0, 0);
        ScenarioRunner.sleepUntil(origin + TimeUnit.SECONDS.toNanos(seconds));
        load.stop();
        done.block(options.operationTimeout().plusSeconds(10));
        long elapsed = System.nanoTime() - origin;
        if (into != null) {
            into.add(recorder.otherLatency);
            counts[0] += Recorder.sum(recorder.readsOk);
            counts[1] += Recorder.sum(recorder.readsFailed);
            counts[2] += elapsed;
        }
    }

}
