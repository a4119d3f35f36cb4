package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

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
public final class PostgresClusterExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback, ParameterResolver {

    private final PostgresCluster.Builder clusterBuilder;

    private final List<String> schema;

    private final boolean perTest;

    private final Duration leakTimeout;

    private final Duration replicationTimeout;

    private @Nullable PostgresCluster cluster;

    private @Nullable SessionLeakCheck leaks;

    private final Deque<Runnable> cleanups = new ArrayDeque<>();

    private PostgresClusterExtension(Builder builder) {
        this.clusterBuilder = builder.cluster;
        this.schema = List.copyOf(builder.schema);
        this.perTest = builder.perTest;
        this.leakTimeout = builder.leakTimeout;
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

    /**
     * The running cluster.
     *
     * @throws IllegalStateException outside a test of the class that registered the extension
     */
    public PostgresCluster cluster() {
        PostgresCluster running = this.cluster;
        if (running == null) {
            throw new IllegalStateException("PostgresClusterExtension: no cluster is running; register the extension with "
                    + "@RegisterExtension on a static field and use it from a test");
        }
        return running;
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
        SessionLeakCheck check = this.leaks;
        if (check == null) {
            throw new IllegalStateException("PostgresClusterExtension: sessionsBefore(..) is known only while a test runs");
        }
        return check.sessionsBefore(node);
    }

    /**
     * Runs {@code cleanup} after the current test, before the session leak check; cleanups run
     * last registered first, and one that throws fails the test after the others have run.
     */
    public void afterTest(Runnable cleanup) {
        this.cleanups.push(Objects.requireNonNull(cleanup, "cleanup"));
    }

    /**
     * Closes {@code resource} with {@code closer} after the current test, before the session leak
     * check.
     *
     * @return {@code resource}, so that a test can register what it creates in one expression
     */
    public <T> T closeAfterTest(T resource, Consumer<? super T> closer) {
        Objects.requireNonNull(closer, "closer");
        afterTest(() -> closer.accept(resource));
        return resource;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!this.perTest) {
            start();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (!this.perTest) {
            stop();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (this.perTest) {
            start();
        }
        PostgresCluster running = cluster();
        for (PostgresNode node : running.nodes()) {
            if (node.isFrozen()) {
                node.thaw();
            }
        }
        this.cleanups.clear();
        this.leaks = SessionLeakCheck.before(running);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        AssertionError failure = null;
        try {
            // thawed first: a frozen node would hold the connections the cleanups give back
            PostgresCluster running = this.cluster;
            if (running != null) {
                for (PostgresNode node : running.nodes()) {
                    if (node.isFrozen()) {
                        node.thaw();
                    }
                }
            }
            while (!this.cleanups.isEmpty()) {
                try {
                    this.cleanups.pop().run();
                }
                catch (RuntimeException | AssertionError error) {
                    if (failure == null) {
                        failure = new AssertionError("a cleanup registered by the test failed: " + error, error);
                    }
                    else {
                        failure.addSuppressed(error);
                    }
                }
            }
            SessionLeakCheck check = this.leaks;
            if (check != null && this.cluster != null) {
                try {
                    check.assertNoSessionLeft(this.leakTimeout);
                }
                catch (AssertionError error) {
                    if (failure == null) {
                        failure = error;
                    }
                    else {
                        failure.addSuppressed(error);
                    }
                }
            }
        }
        finally {
            this.leaks = null;
            if (this.perTest) {
                stop();
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == PostgresCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return cluster();
    }

    private void start() {
        PostgresCluster started = this.clusterBuilder.build();
        this.cluster = started;
        if (!this.schema.isEmpty()) {
            for (String statement : this.schema) {
                started.primary().execute(statement);
            }
            started.awaitReplication(this.replicationTimeout);
        }
    }

    private void stop() {
        PostgresCluster running = this.cluster;
        this.cluster = null;
        if (running != null) {
            running.close();
        }
    }

    @Override
    public String toString() {
        return "PostgresClusterExtension{" + (this.cluster != null ? this.cluster : "not started") + "}";
    }

    /** Collects the extension's settings. */
    public static final class Builder {

        private final PostgresCluster.Builder cluster = PostgresCluster.builder().replicas(2);

        private final List<String> schema = new ArrayList<>();

        private boolean perTest;

        private Duration leakTimeout = Duration.ofSeconds(15);

        private Duration replicationTimeout = Duration.ofSeconds(30);

        private Builder() {
        }

        /** How many streaming replicas the primary gets (default 2). */
        public Builder replicas(int replicas) {
            this.cluster.replicas(replicas);
            return this;
        }

        /** Further cluster settings (backend, image, database, user, password). */
        public Builder cluster(Consumer<PostgresCluster.Builder> settings) {
            settings.accept(this.cluster);
            return this;
        }

        /** SQL run on the primary once the cluster is up; the extension then waits until the replicas have it. */
        public Builder schema(String... statements) {
            for (String statement : statements) {
                this.schema.add(Objects.requireNonNull(statement, "statement"));
            }
            return this;
        }

        /** A fresh cluster for every test instead of one per class. */
        public Builder perTest() {
            this.perTest = true;
            return this;
        }

        /** How long the leak check waits for sessions to close after a test (default 15s). */
        public Builder leakTimeout(Duration leakTimeout) {
            if (leakTimeout.isNegative() || leakTimeout.isZero()) {
                throw new IllegalArgumentException("leakTimeout must be positive, was " + leakTimeout);
            }
            this.leakTimeout = leakTimeout;
            return this;
        }

        public PostgresClusterExtension build() {
            return new PostgresClusterExtension(this);
        }
    }
}
