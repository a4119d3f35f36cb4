package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * What the testkit's JUnit 5 extensions ({@link PostgresClusterExtension},
 * {@link MariaDbClusterExtension}, {@link PatroniClusterExtension}) share: a cluster per class (or
 * per test), the test's cleanups, and the session leak check around each test. A subclass hands
 * down how to start its cluster and count its sessions, and says how to run its schema and thaw its
 * frozen nodes. Public so that a test can hold any of them as one type (a suite written once for
 * every {@link DatabaseCluster}, for instance); only this package extends it.
 *
 * @param <C> the cluster type, which tests can also take as a parameter
 */
public abstract class ClusterExtension<C extends AutoCloseable> implements BeforeAllCallback, AfterAllCallback,
        BeforeEachCallback, AfterEachCallback, ParameterResolver {

    private final Class<C> clusterType;

    private final Supplier<C> starter;

    private final Function<C, SessionLeakCheck> sessionCounter;

    private final boolean perTest;

    private final Duration leakTimeout;

    private @Nullable C cluster;

    private @Nullable SessionLeakCheck leaks;

    private final Deque<Runnable> cleanups = new ArrayDeque<>();

    /**
     * @param starter starts a cluster
     * @param sessionCounter records the client sessions of every node of a cluster now
     */
    ClusterExtension(Class<C> clusterType, Settings<?, ?> settings, Supplier<C> starter,
            Function<C, SessionLeakCheck> sessionCounter) {
        this.clusterType = clusterType;
        this.starter = starter;
        this.sessionCounter = sessionCounter;
        this.perTest = settings.perTest;
        this.leakTimeout = settings.leakTimeout;
    }

    /** Runs the schema on {@code cluster} and waits until its replicas have it. */
    abstract void applySchema(C cluster);

    /** Thaws every node of {@code cluster} that is frozen; nothing for a cluster whose nodes do not freeze. */
    void thawFrozen(C cluster) {
    }

    private String name() {
        return getClass().getSimpleName();
    }

    /**
     * The running cluster.
     *
     * @throws IllegalStateException outside a test of the class that registered the extension
     */
    public C cluster() {
        C running = this.cluster;
        if (running == null) {
            throw new IllegalStateException(name() + ": no cluster is running; register the extension with "
                    + "@RegisterExtension on a static field and use it from a test");
        }
        return running;
    }

    /** The session counts of when the current test began. */
    final SessionLeakCheck leaks() {
        SessionLeakCheck check = this.leaks;
        if (check == null) {
            throw new IllegalStateException(name() + ": sessionsBefore(..) is known only while a test runs");
        }
        return check;
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
        C running = cluster();
        thawFrozen(running);
        this.cleanups.clear();
        this.leaks = this.sessionCounter.apply(running);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        AssertionError failure = null;
        try {
            // thawed first: a frozen node would hold the connections the cleanups give back
            C running = this.cluster;
            if (running != null) {
                thawFrozen(running);
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
        return parameterContext.getParameter().getType() == this.clusterType;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return cluster();
    }

    private void start() {
        C started = this.starter.get();
        this.cluster = started;
        applySchema(started);
    }

    private void stop() {
        C running = this.cluster;
        this.cluster = null;
        if (running != null) {
            try {
                running.close();
            }
            catch (Exception ex) {
                throw new IllegalStateException(name() + ": could not close " + running + ": " + ex.getMessage(), ex);
            }
        }
    }

    @Override
    public String toString() {
        return name() + "{" + (this.cluster != null ? this.cluster : "not started") + "}";
    }

    /**
     * What every extension's builder collects: the settings of its cluster, and its own.
     *
     * @param <B> the builder itself, so that the setters chain
     * @param <CB> the cluster's builder
     */
    abstract static class Settings<B extends Settings<B, CB>, CB> {

        final CB cluster;

        final List<String> schema = new ArrayList<>();

        boolean perTest;

        Duration leakTimeout = Duration.ofSeconds(15);

        Duration replicationTimeout = Duration.ofSeconds(30);

        Settings(CB cluster) {
            this.cluster = cluster;
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** Further cluster settings (those of the cluster's own builder: database, user, password, …). */
        public B cluster(Consumer<? super CB> settings) {
            settings.accept(this.cluster);
            return self();
        }

        /**
         * SQL run on the primary (a Patroni cluster's leader) once the cluster is up; the PostgreSQL and
         * MariaDB extensions then wait until the replicas have it.
         */
        public B schema(String... statements) {
            for (String statement : statements) {
                this.schema.add(Objects.requireNonNull(statement, "statement"));
            }
            return self();
        }

        /** A fresh cluster for every test instead of one per class. */
        public B perTest() {
            this.perTest = true;
            return self();
        }

        /** How long the leak check waits for sessions to close after a test (default 15s). */
        public B leakTimeout(Duration leakTimeout) {
            if (leakTimeout.isNegative() || leakTimeout.isZero()) {
                throw new IllegalArgumentException("leakTimeout must be positive, was " + leakTimeout);
            }
            this.leakTimeout = leakTimeout;
            return self();
        }

    }
}
