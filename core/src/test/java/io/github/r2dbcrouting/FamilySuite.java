package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the shared integration suites have in common: the {@link Family} they run for (a concrete
 * test class per family registers the testkit's cluster extension and hands it down), the factory a
 * test builds in {@link #factory}, closed after the test once it lends no connection (then the
 * extension checks that no node has more client sessions than before the test), its events, and
 * waiting for its nodes' states.
 */
abstract class FamilySuite {

    /** Generous bound for "within a few probe intervals" on a loaded 2-core machine. */
    static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    final Family family;

    final EventLog events = new EventLog();

    /** The test's factory, if it built one there: closed and checked after it. */
    RoutingConnectionFactory factory;

    FamilySuite(Family family) {
        this.family = family;
    }

    /** Registers the factory a test made for closing, after the extension thawed what the test froze. */
    @BeforeEach
    void closeFactoryAfterTest() {
        this.family.afterTest(() -> {
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
                this.factory = null;
            }
        });
    }

    /** The primary and every replica of the family's cluster, reporting to {@link #events}; default settings otherwise. */
    RoutingConnectionFactoryBuilder builder() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .listener(this.events);
        for (DatabaseNode replica : this.family.replicas()) {
            builder.replica(replica.name(), replica.connectionFactory());
        }
        return builder;
    }

    /** Restarts {@code node} after the test if it is down then, so that a cluster shared by the class's tests has every node back. */
    void restartAfterTest(DatabaseNode node) {
        this.family.afterTest(() -> {
            if (!node.isRunning()) {
                node.restart();
            }
        });
    }

    NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    void awaitState(String name, NodeState state, Duration within) {
        Await.until("'" + name + "' " + state, within, () -> node(name).state() == state, () -> this.factory.nodes() + this.events.toString());
    }

    /** Until every node is up and has answered a probe, so that roles are known. */
    void awaitAllUp() {
        for (NodeSnapshot n : this.factory.nodes()) {
            awaitState(n.name(), NodeState.UP, FEW_INTERVALS);
        }
        Await.until("every role observed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN),
            () -> this.factory.nodes().toString());
    }

    Set<Integer> replicaPorts() {
        return this.family.replicas().stream().map(DatabaseNode::port).collect(Collectors.toSet());
    }

    static double seconds(long fromNanos, long toNanos) {
        return (toNanos - fromNanos) / 1e9;
    }
}
