package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * A JUnit 5 extension that starts a MariaDB primary with GTID replicas ({@link MariaDbCluster}) for a
 * test class, hands it to the tests, and proves after each test that the test left no server-side
 * session behind ({@link SessionLeakCheck}); {@link PostgresClusterExtension}'s counterpart.
 *
 * <pre>{@code
 * class OrdersOnMariaDbIntegrationTests {
 *
 *     @RegisterExtension
 *     static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
 *         .replicas(2)
 *         .schema("CREATE TABLE orders (id BIGINT PRIMARY KEY, total INT)")
 *         .build();
 *
 *     @Test
 *     void readsOnAReplica(MariaDbCluster cluster) {
 *         ConnectionFactory db = CLUSTER.closeAfterTest(newFactory(cluster), f -> ((Closeable) f).close().block());
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>One cluster serves the whole class ({@link Builder#perTest()} gives each test a fresh one). A
 * node that a test left frozen is thawed after it, before its cleanups run; a stopped or killed node
 * is left as it is. After each test, what the test registered with {@link #afterTest(Runnable)} or
 * {@link #closeAfterTest(Object, Consumer)} runs (last registered first), then the leak check waits
 * until every running node has no more client sessions ({@link MariaDbNode#clientSessions()}) than
 * before the test. Without the MariaDB binaries the class fails at once, saying what to install
 * (see {@link MariaDbCluster#unavailableReason()}): it is not skipped.
 */
public final class MariaDbClusterExtension extends ClusterExtension<MariaDbCluster> {

    private final List<String> schema;

    private final Duration replicationTimeout;

    private MariaDbClusterExtension(Builder builder) {
        super(MariaDbCluster.class, builder, builder.cluster::build, SessionLeakCheck::before);
        this.schema = List.copyOf(builder.schema);
        this.replicationTimeout = builder.replicationTimeout;
    }

    /** A builder for a cluster of one primary and two replicas, one per test class. */
    public static Builder builder() {
        return new Builder();
    }

    /** The cluster's node started as the primary. */
    public MariaDbNode primary() {
        return cluster().primary();
    }

    /** The cluster's replicas. */
    public List<MariaDbNode> replicas() {
        return cluster().replicas();
    }

    /**
     * The client sessions {@code node} had when the current test began: the count the leak check
     * after the test compares with.
     *
     * @throws IllegalStateException outside a test
     */
    public int sessionsBefore(MariaDbNode node) {
        return leaks().sessionsBefore(node);
    }

    @Override
    void applySchema(MariaDbCluster cluster) {
        if (!this.schema.isEmpty()) {
            this.schema.forEach(cluster.primary()::execute);
            cluster.awaitReplication(this.replicationTimeout);
        }
    }

    @Override
    void thawFrozen(MariaDbCluster cluster) {
        cluster.nodes().stream().filter(MariaDbNode::isFrozen).forEach(MariaDbNode::thaw);
    }

    /** Collects the extension's settings. */
    public static final class Builder extends ClusterExtension.Settings<Builder, MariaDbCluster.Builder> {

        private Builder() {
            super(MariaDbCluster.builder().replicas(2));
        }

        /** How many GTID replicas the primary gets (default 2). */
        public Builder replicas(int replicas) {
            this.cluster.replicas(replicas);
            return this;
        }

        public MariaDbClusterExtension build() {
            return new MariaDbClusterExtension(this);
        }
    }
}
