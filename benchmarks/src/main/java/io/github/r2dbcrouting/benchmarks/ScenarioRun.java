package io.github.r2dbcrouting.benchmarks;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
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
import io.github.r2dbcrouting.benchmarks.ScenarioRunner.Event;
import io.github.r2dbcrouting.benchmarks.ScenarioRunner.Options;
import reactor.core.publisher.Mono;

/**
 * One scenario on one family: a fresh cluster with two replicas, a routing factory over it, the
 * load, the fault at {@code faultAt} and its undoing at {@code recoverAt}, then what it measured:
 * reads and writes per 100 ms, events, connections still lent, acknowledged writes on the final
 * primary, and the chart.
 */
final class ScenarioRun {

    static final String WRITES = "bench_writes";

    private ScenarioRun() {
    }

    static ScenarioResult run(Scenario scenario, Family family, Options options, Path directory) throws InterruptedException {
        String name = family.id() + "-" + scenario.id();
        ScenarioRunner.log("scenario " + name + ": starting a " + family.label + " cluster with 2 replicas");
        Duration operationTimeout = scenario.operationTimeout(options.operationTimeout());
        PoolSettings pool = PoolSettings.builder().maxSize(options.concurrency()).build();
        try (BenchCluster cluster = family.start(2)) {
            if (scenario.synchronous()) {
                cluster.synchronous();
            }
            HealthSettings health = scenario.health(HealthSettings.builder(), cluster).build();
            cluster.primary().execute(cluster.createTable(WRITES));
            cluster.awaitReplication(Duration.ofSeconds(10));
            String readSql = cluster.portSql();
            String writeSql = cluster.insertReturningId(WRITES, "repeat('x', 1000)");
            Map<Integer, String> nodeByPort = new LinkedHashMap<>();
            for (BenchNode node : cluster.nodes()) {
                nodeByPort.put(node.port(), node.name());
            }
            List<Event> events = Collections.synchronizedList(new ArrayList<>());
            long[] origin = {System.nanoTime()};
            RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
                .name(name)
                .primary("primary", cluster.primary().connectionFactory())
                .replica("replica-1", cluster.replicas().get(0).connectionFactory())
                .replica("replica-2", cluster.replicas().get(1).connectionFactory())
                .pool(pool)
                .health(health)
                .listener(event -> events.add(new Event((System.nanoTime() - origin[0]) / 1e9, event)))
                .build();
            BenchNode target = cluster.node(scenario.target);
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
                Load load = new Load(recorder, factory, Routing.readOnly(), readSql, factory, writeSql, operationTimeout, options.writeEvery());
                Mono<Void> done = load.start(options.concurrency(), options.retryReaders(), options.writers());
                ScheduledFuture<?> fault = faults.schedule(() -> {
                    marks[0] = (System.nanoTime() - start) / 1e9;
                    ScenarioRunner.log(name + ": " + scenario.fault(family) + " on '" + target.name() + "' at " + ScenarioRunner.fmt(marks[0]) + " s");
                    scenario.inject(cluster, target);
                    marks[1] = (System.nanoTime() - start) / 1e9;
                }, seconds(options.faultAtSeconds()), TimeUnit.NANOSECONDS);
                ScheduledFuture<?> recovery = faults.schedule(() -> {
                    marks[2] = (System.nanoTime() - start) / 1e9;
                    scenario.recover(cluster, target);
                    marks[3] = (System.nanoTime() - start) / 1e9;
                    ScenarioRunner.log(name + ": " + scenario.recovery + " of '" + target.name() + "' done at " + ScenarioRunner.fmt(marks[3]) + " s");
                }, seconds(options.recoverAtSeconds()), TimeUnit.NANOSECONDS);
                ScenarioRunner.sleepUntil(start + TimeUnit.SECONDS.toNanos(options.durationSeconds()));
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
            WriteFigures writes = WriteFigures.of(recorder.acknowledgedIds(), SoakCluster.idsOn(cluster.primary(), WRITES), recorder.acknowledgedAt(),
                origin[0], marks, seen, cluster.primary().name(), writeSql);
            Event ejection = first(seen, RoutingEvent.Type.EJECTED, target.name(), marks[0]);
            Event readmission = first(seen, RoutingEvent.Type.READMITTED, target.name(), marks[2]);
            ScenarioResult result = new ScenarioResult(scenario, family, options, health, pool, operationTimeout, recorder, buckets, marks,
                ejection, readmission, seen, nodeByPort, acquiredAtEnd, finalNodes, readSql, writes);
            chart(directory, name, scenario, family, target, health, options, recorder, buckets, marks, ejection, readmission);
            ScenarioRunner.log(name + ": " + result.summary());
            return result;
        }
    }

    private static void chart(Path directory, String name, Scenario scenario, Family family, BenchNode target, HealthSettings health,
                              Options options, Recorder recorder, int buckets, double[] marks, Event ejection, Event readmission) {
        try {
            Charts.scenario(directory.resolve("scenario-" + name + ".png"),
                family.label + " " + scenario.id() + ": " + scenario.fault(family) + " on " + target.name() + ", " + scenario.recovery + " at "
                    + ScenarioRunner.fmt(options.recoverAtSeconds()) + " s (health every " + health.interval().toMillis() + " ms, timeout "
                    + health.timeout().toMillis() + " ms)", recorder, buckets,
                new Charts.Mark("fault", marks[0], Color.RED),
                new Charts.Mark("ejected", ejection == null ? Double.NaN : ejection.seconds(), new Color(0x9467bd)),
                new Charts.Mark("recovered", marks[3], new Color(0x2ca02c)),
                new Charts.Mark("readmitted", readmission == null ? Double.NaN : readmission.seconds(), new Color(0x17becf)));
        } catch (IOException error) {
            throw new UncheckedIOException(error);
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
            future.get(120, TimeUnit.SECONDS);
        } catch (ExecutionException error) {
            throw new IllegalStateException("fault injection failed: " + error.getCause(), error.getCause());
        } catch (TimeoutException error) {
            throw new IllegalStateException("fault injection did not finish within 120 s", error);
        }
    }

    private static long seconds(double seconds) {
        return (long) (seconds * 1e9);
    }
}
