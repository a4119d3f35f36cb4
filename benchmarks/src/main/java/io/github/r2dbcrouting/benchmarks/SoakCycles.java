package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import io.github.r2dbcrouting.HealthSettings;
import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.RetiredPool;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.RoutingEvent;

/**
 * The soak's faults: each cycle picks one at random from the seed, injects it into the cluster,
 * waits (with a deadline) until the factory has ejected the node, undoes it, and waits until every
 * node is back in its role. Also makes the soak's factories and counts their events.
 */
final class SoakCycles {

    private final SoakOptions options;

    private final BenchCluster cluster;

    private final Random random;

    final Map<RoutingEvent.Type, LongAdder> events = new ConcurrentHashMap<>();

    /** The last events, for the log when a cycle does not settle. */
    private final Deque<String> recentEvents = new ArrayDeque<>();

    final List<SoakResult.Cycle> cycles = new ArrayList<>();

    int retiredMax;

    int cyclesWithRetired;

    SoakCycles(SoakOptions options, BenchCluster cluster) {
        this.options = options;
        this.cluster = cluster;
        this.random = new Random(options.seed());
    }

    /**
     * A routing factory over the cluster, its configured names the testkit's (roles are whatever
     * the cluster has now), with the soak's pool and health settings and the lag bound of the family.
     */
    RoutingConnectionFactory factory(String name) {
        HealthSettings.Builder health = HealthSettings.builder().interval(this.options.healthInterval()).timeout(this.options.healthTimeout());
        if (this.options.family() == Family.MARIADB) {
            health.maxLagTime(this.options.maxLagTime());
        } else {
            health.maxLagBytes(this.options.maxLagBytes());
        }
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name(name)
            .pool(PoolSettings.builder().maxSize(this.options.readers()).maxAcquireTime(Duration.ofSeconds(2))
                .maxCreateConnectionTime(Duration.ofSeconds(1)).build())
            .health(health.build())
            .listener(event -> {
                this.events.computeIfAbsent(event.type(), t -> new LongAdder()).increment();
                synchronized (this.recentEvents) {
                    this.recentEvents.addLast(event.message());
                    if (this.recentEvents.size() > 12) {
                        this.recentEvents.removeFirst();
                    }
                }
            });
        builder.primary("primary", this.cluster.node("primary").connectionFactory());
        for (BenchNode node : this.cluster.replicas()) {
            builder.replica(node.name(), node.connectionFactory());
        }
        return builder.build();
    }

    void cycle(int index, RoutingConnectionFactory factory) throws InterruptedException {
        SoakFault fault = SoakFault.values()[this.random.nextInt(SoakFault.values().length)];
        BenchNode primary = this.cluster.primary();
        List<BenchNode> standbys = new ArrayList<>();
        for (BenchNode node : this.cluster.nodes()) {
            if (node != primary) {
                standbys.add(node);
            }
        }
        if (fault == SoakFault.REMOVE_ADD) {
            // only a configured replica can be removed, and not while it takes the writes
            standbys.removeIf(node -> !node.name().startsWith("replica"));
        }
        BenchNode target = fault == SoakFault.PRIMARY_FAILOVER ? primary : standbys.get(this.random.nextInt(standbys.size()));
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
                this.cluster.promote(this.cluster.mostAdvanced(standbys));
                // the old primary may have written what nobody received: it starts over from the new primary's data
                this.cluster.rejoin(target);
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
    private double awaitEjected(RoutingConnectionFactory factory, BenchNode target, long start) throws InterruptedException {
        boolean ejected = Soak.waitFor(this.options.detectWithin(), () -> factory.nodes().stream()
            .anyMatch(n -> n.name().equals(target.name()) && n.state() == NodeState.EJECTED));
        return ejected ? (System.nanoTime() - start) / 1e9 : Double.NaN;
    }

    /** Every node in, up, in the role the cluster has it in, and writes on the cluster's primary. */
    boolean awaitSettled(RoutingConnectionFactory factory, Duration within) throws InterruptedException {
        return Soak.waitFor(within, () -> {
            List<NodeSnapshot> nodes = factory.nodes();
            if (nodes.size() != this.cluster.nodes().size()) {
                return false;
            }
            String primary = this.cluster.primary().name();
            for (NodeSnapshot node : nodes) {
                boolean isPrimary = node.name().equals(primary);
                if (node.state() != NodeState.UP || node.role() != (isPrimary ? NodeRole.PRIMARY : NodeRole.REPLICA) || node.writer() != isPrimary) {
                    return false;
                }
            }
            return true;
        });
    }

    private String recentEvents() {
        synchronized (this.recentEvents) {
            return new ArrayList<>(this.recentEvents).toString();
        }
    }
}
