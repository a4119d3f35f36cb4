package io.github.r2dbcrouting.testkit;

import java.util.List;
import java.util.function.Consumer;

/**
 * A JUnit 5 extension that starts a Patroni cluster ({@link PatroniCluster}: etcd and N members)
 * for a test class, hands it to the tests, and proves after each test that the test left no
 * server-side session behind ({@link SessionLeakCheck}); {@link PostgresClusterExtension}'s
 * counterpart.
 *
 * <pre>{@code
 * class FailoverIntegrationTests {
 *
 *     @RegisterExtension
 *     static final PatroniClusterExtension CLUSTER = PatroniClusterExtension.builder()
 *         .members(3)
 *         .schema("CREATE TABLE writes (id bigint PRIMARY KEY)")
 *         .build();
 *
 *     @Test
 *     void followsASwitchover(PatroniCluster cluster) {
 *         RoutingConnectionFactory db = CLUSTER.closeAfterTest(newFactory(cluster.restUrls()), f -> f.close().block());
 *         cluster.switchover(cluster.member("pg-1"));
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>One cluster serves the whole class ({@link Builder#perTest()} gives each test a fresh one); a
 * member a test stopped or killed is left as it is. The schema runs on the leader once every member
 * streams from it. After each test, what the test registered with {@link #afterTest(Runnable)} or
 * {@link #closeAfterTest(Object, Consumer)} runs (last registered first), then the leak check waits
 * until every member whose PostgreSQL answers has no more client sessions
 * ({@link PatroniMember#clientSessions()}, Patroni's own not counted) than before the test.
 */
public final class PatroniClusterExtension extends ClusterExtension<PatroniCluster> {

    private final List<String> schema;

    private PatroniClusterExtension(Builder builder) {
        super(PatroniCluster.class, builder, builder.cluster::build, SessionLeakCheck::before);
        this.schema = List.copyOf(builder.schema);
    }

    /** A builder for a cluster of three members, one per test class. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The client sessions {@code member} had when the current test began: the count the leak check
     * after the test compares with.
     *
     * @throws IllegalStateException outside a test
     */
    public int sessionsBefore(PatroniMember member) {
        return leaks().sessionsBefore(member);
    }

    @Override
    void applySchema(PatroniCluster cluster) {
        if (!this.schema.isEmpty()) {
            this.schema.forEach(cluster.awaitMembersStreaming(PatroniCluster.START_TIMEOUT)::execute);
        }
    }

    /** Collects the extension's settings. */
    public static final class Builder extends ClusterExtension.Settings<Builder, PatroniCluster.Builder> {

        private Builder() {
            super(PatroniCluster.builder().members(3));
        }

        /** How many members start, 1 to 9 (default 3: a leader and two replicas). */
        public Builder members(int members) {
            this.cluster.members(members);
            return this;
        }

        /** Patroni in {@code synchronous_mode} (see {@link PatroniCluster.Builder#synchronousMode()}). */
        public Builder synchronousMode() {
            this.cluster.synchronousMode();
            return this;
        }

        public PatroniClusterExtension build() {
            return new PatroniClusterExtension(this);
        }
    }
}
