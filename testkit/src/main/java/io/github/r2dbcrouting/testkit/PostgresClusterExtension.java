package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * A JUnit 5 extension that starts a PostgreSQL primary with streaming replicas for a test class,
 * hands it to the tests, and proves after each test that the test left no server-side session
 * behind ({@link SessionLeakCheck}).
 *
 * <pre>{@code
 * class OrdersIntegrationTests {
 *
 *     @RegisterExtension
 *     static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
 *         .replicas(2)
 *         .schema("CREATE TABLE orders (id serial PRIMARY KEY, total int)")
 *         .build();
 *
 *     @Test
 *     void readsOnAReplica(PostgresCluster cluster) {
 *         ConnectionFactory db = CLUSTER.closeAfterTest(newFactory(cluster), f -> ((Closeable) f).close().block());
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>Registered on a {@code static} field, one cluster serves the whole class ({@link Builder#perTest()}
 * gives each test a fresh one, for tests that break nodes for good or change the topology). A node
 * that a test left frozen is thawed after it (before its cleanups run), so that one failed fault test does not hang the next
 * ones; a stopped node is left as it is (restarting an old primary could make a second one). After each test, what the test registered with
 * {@link #afterTest(Runnable)} or {@link #closeAfterTest(Object, Consumer)} runs (last registered
 * first), then the leak check waits until every node has no more client sessions than before the
 * test. Tests take the cluster as a {@link PostgresCluster} parameter or through {@link #cluster()}.
 */
public final class PostgresClusterExtension extends ClusterExtension<PostgresCluster> {

    private final List<String> schema;

    private final Duration replicationTimeout;

    private PostgresClusterExtension(Builder builder) {
        super(PostgresCluster.class, builder, builder.cluster::build, SessionLeakCheck::before);
        this.schema = List.copyOf(builder.schema);
        this.replicationTimeout = builder.replicationTimeout;
    }

    /** A builder for a cluster of one primary and two replicas, one per test class. */
    public static Builder builder() {
        return new Builder();
    }

    /** A cluster of one primary and {@code replicas} replicas, one per test class, no schema. */
    public static PostgresClusterExtension withReplicas(int replicas) {
        return builder().replicas(replicas).build();
    }

    /** The cluster's current primary. */
    public PostgresNode primary() {
        return cluster().primary();
    }

    /** The cluster's replicas. */
    public List<PostgresNode> replicas() {
        return cluster().replicas();
    }

    /**
     * The client sessions {@code node} had when the current test began: the count the leak check
     * after the test compares with.
     *
     * @throws IllegalStateException outside a test
     */
    public int sessionsBefore(PostgresNode node) {
        return leaks().sessionsBefore(node);
    }

    @Override
    void applySchema(PostgresCluster cluster) {
        if (!this.schema.isEmpty()) {
            for (String statement : this.schema) {
                cluster.primary().execute(statement);
            }
            cluster.awaitReplication(this.replicationTimeout);
        }
    }

    @Override
    void thawFrozen(PostgresCluster cluster) {
        cluster.nodes().stream().filter(PostgresNode::isFrozen).forEach(PostgresNode::thaw);
    }

    /** Collects the extension's settings. */
    public static final class Builder extends ClusterExtension.Settings<Builder, PostgresCluster.Builder> {

        private Builder() {
            super(PostgresCluster.builder().replicas(2));
        }

        /** How many streaming replicas the primary gets (default 2). */
        public Builder replicas(int replicas) {
            this.cluster.replicas(replicas);
            return this;
        }

        public PostgresClusterExtension build() {
            return new PostgresClusterExtension(this);
        }
    }
}
