package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What every backend of {@link PostgresCluster} must do, run once per backend by a subclass
 * ({@link LocalPostgresClusterIntegrationTests}, {@link ContainerPostgresClusterIntegrationTests}),
 * so that the backends cannot drift apart. Every fault is a real one. A subclass whose backend
 * cannot run here is reported skipped, never passed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class PostgresClusterContract {

    static final Duration WAIT = Duration.ofSeconds(15);

    private static final AtomicInteger IDS = new AtomicInteger();

    /** Shared by the tests that leave it as they found it; destructive tests start their own. */
    private @Nullable PostgresCluster shared;

    /** Why the backend cannot run on this machine, or null when it can. */
    private @Nullable String unavailable;

    /**
     * Why this backend cannot run on this machine ({@code "no container engine: ..."}), or null
     * when it can. Every test is then reported skipped with that reason: an assumption in
     * {@code @BeforeAll} would abort the class, which Surefire counts as zero tests run and zero
     * skipped, a silent pass.
     */
    abstract @Nullable String unavailable();

    abstract Backend backend();

    /** The host that nodes of this backend report. */
    abstract String expectedHost();

    /**
     * Captures what runs a node now; the returned check asserts, after a kill, that none of it
     * runs any more (processes, or the container).
     */
    abstract Runnable goneAfterKill(PostgresNode node);

    /** Captures what the cluster made; the returned check asserts, after close, that nothing of it is left. */
    abstract Runnable nothingLeftAfterClose(PostgresCluster cluster);

    /** The cluster shared by the tests that leave it as they found it. */
    PostgresCluster shared() {
        if (shared == null) {
            throw new IllegalStateException("no shared cluster: " + unavailable);
        }
        return shared;
    }

    PostgresCluster start(int replicas) {
        return PostgresCluster.builder().backend(backend()).replicas(replicas).build();
    }

    @BeforeAll
    void startSharedCluster() {
        unavailable = unavailable();
        if (unavailable == null) {
            shared = start(2);
            shared.primary().execute("CREATE TABLE items (id int PRIMARY KEY, label text)");
        }
    }

    @BeforeEach
    void assumeBackendAvailable() {
        assumeTrue(unavailable == null, () -> unavailable);
    }

    @AfterAll
    void closeSharedCluster() {
        if (shared != null) {
            shared.close();
        }
    }

    @AfterEach
    void leavesNoSessionOnTheSharedCluster() {
        if (shared == null) {
            return;
        }
        for (PostgresNode node : shared.nodes()) {
            assertFalse(node.isFrozen(), node + " left frozen");
            assertEventually(node + " has no client session left", () -> node.clientSessions() == 0);
        }
    }

    @Test
    void shouldStreamRowsFromPrimaryToEveryReplica() {
        int id = insert(shared().primary(), "streamed");
        shared().awaitReplication(WAIT);
        for (PostgresNode replica : shared().replicas()) {
            assertEquals("streamed", label(replica, id), replica.name());
        }
    }

    @Test
    void shouldReportRolesAndReplicationConnections() {
        assertEquals(backend(), shared().backend());
        assertFalse(shared().primary().isInRecovery());
        assertEquals(List.of("replica-1", "replica-2"), shared().replicas().stream().map(PostgresNode::name).toList());
        for (PostgresNode replica : shared().replicas()) {
            assertTrue(replica.isInRecovery(), replica.name());
        }
        assertEventually("both replicas streaming", () -> "replica-1,replica-2".equals(shared().primary()
            .queryString("SELECT string_agg(application_name, ',' ORDER BY application_name) "
                    + "FROM pg_stat_replication WHERE state = 'streaming'")));
        assertEquals("2", shared().primary().queryString("SELECT count(*) FROM pg_replication_slots WHERE active"));
        assertEquals("replica_1,replica_2", shared().primary().queryString(
                "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots"));
    }

    @Test
    void shouldRunWithTheSameSettingsOnEveryNode() {
        for (PostgresNode node : shared().nodes()) {
            assertEquals("off", node.queryString("SHOW fsync"), node.name());
            assertEquals("replica", node.queryString("SHOW wal_level"), node.name());
            assertEquals("on", node.queryString("SHOW hot_standby_feedback"), node.name());
            assertEquals("1s", node.queryString("SHOW wal_receiver_status_interval"), node.name());
            assertEquals("10", node.queryString("SHOW max_wal_senders"), node.name());
            assertEquals("1MB", node.queryString("SHOW wal_segment_size"), node.name());
        }
    }

    @Test
    void shouldDescribeNodesWithoutPassword() {
        PostgresNode primary = shared().primary();
        assertEquals(expectedHost(), primary.host());
        assertEquals("r2dbc:postgresql://" + expectedHost() + ":" + primary.port() + "/app", primary.r2dbcUrl());
        assertEquals("app", primary.database());
        assertEquals("app", primary.username());
        assertFalse(primary.toString().contains(primary.password()), primary.toString());
        assertFalse(shared().toString().contains(primary.password()), shared().toString());
        assertTrue(primary.toString().contains("primary") && primary.toString().contains(Integer.toString(primary.port())));
        assertEquals(3, shared().nodes().size());
        assertEquals(shared().primary(), shared().nodes().get(0));
        assertEquals(shared().replicas().get(1), shared().node("replica-2"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> shared().node("replica-9"));
        assertTrue(unknown.getMessage().contains("'replica-9'"), unknown.getMessage());
        assertEquals(3, shared().nodes().stream().mapToInt(PostgresNode::port).distinct().count());
        IllegalArgumentException self = assertThrows(IllegalArgumentException.class,
                () -> primary.rejoinAsReplicaOf(primary));
        assertEquals("node 'primary' cannot rejoin as a replica of itself", self.getMessage());
    }

    @Test
    void shouldReportFromInsideTheServerThePortThatClientsUse() {
        // tests (core's among them) tell nodes apart by inet_server_port()
        for (PostgresNode node : shared().nodes()) {
            assertEquals(Integer.toString(node.port()), node.queryString("SELECT inet_server_port()::text"), node.name());
        }
    }

    @Test
    void shouldConnectThroughOptionsAndFactory() {
        ConnectionFactoryOptions options = shared().replicas().get(0).options();
        assertEquals("postgresql", options.getValue(ConnectionFactoryOptions.DRIVER));
        StepVerifier.create(selectOne(ConnectionFactories.get(options).create()))
            .expectNext(1)
            .verifyComplete();
        StepVerifier.create(selectOne(shared().primary().connectionFactory().create()))
            .expectNext(1)
            .verifyComplete();
        assertEquals("1", shared().primary().queryString("SELECT 1"));
        assertNull(shared().primary().queryString("SELECT 1 WHERE false"));
    }

    @Test
    void shouldRefuseWrongPassword() {
        PostgresNode primary = shared().primary();
        ConnectionFactoryOptions wrong = primary.options().mutate()
            .option(ConnectionFactoryOptions.PASSWORD, "not-the-password")
            .build();
        StepVerifier.create(Mono.from(ConnectionFactories.get(wrong).create()))
            .expectErrorMatches(ex -> ex.getMessage().contains("password authentication failed"))
            .verify(WAIT);
    }

    @Test
    void shouldHideNewRowsFromPausedReplicaUntilResumed() {
        PostgresNode paused = shared().node("replica-1");
        PostgresNode other = shared().node("replica-2");
        paused.pauseReplay();
        try {
            assertTrue(paused.isReplayPaused());
            int id = insert(shared().primary(), "while paused");
            shared().awaitReplication(WAIT); // skips the paused replica
            assertEquals("while paused", label(other, id));
            assertNull(label(paused, id));
            paused.resumeReplay();
            assertEventually("row " + id + " on resumed " + paused, () -> label(paused, id) != null);
            assertFalse(paused.isReplayPaused());
        }
        finally {
            paused.resumeReplay();
        }
    }

    @Test
    void shouldStopAnsweringWhileFrozen() {
        PostgresNode frozen = shared().node("replica-2");
        frozen.freeze();
        try {
            assertTrue(frozen.isRunning());
            assertTrue(frozen.isFrozen());
            // the kernel still completes the TCP connect; the startup handshake never gets an answer
            StepVerifier.create(selectOne(frozen.connectionFactory().create()).timeout(Duration.ofSeconds(1)))
                .expectError(TimeoutException.class)
                .verify(WAIT);
            int id = insert(shared().primary(), "while frozen");
            shared().awaitReplication(WAIT); // skips the frozen replica
            assertEquals("while frozen", label(shared().node("replica-1"), id));
        }
        finally {
            frozen.thaw();
        }
        assertFalse(frozen.isFrozen());
        assertEquals("1", frozen.queryString("SELECT 1"));
        shared().awaitReplication(WAIT);
    }

    @Test
    void shouldRestartKilledReplicaAndStreamAgain() {
        try (PostgresCluster cluster = start(1)) {
            PostgresNode replica = cluster.node("replica-1");
            int port = replica.port();
            long pid = replica.pid();
            Runnable gone = goneAfterKill(replica);

            replica.kill();
            assertFalse(replica.isRunning());
            gone.run();
            StepVerifier.create(selectOne(replica.connectionFactory().create())).expectError().verify(WAIT);

            cluster.primary().execute("CREATE TABLE t (v text)");
            cluster.primary().execute("INSERT INTO t VALUES ('written while the replica was dead')");
            replica.restart();
            assertTrue(replica.isRunning());
            assertNotEquals(pid, replica.pid());
            assertEquals(port, replica.port());
            assertTrue(replica.isInRecovery());
            cluster.awaitReplication(WAIT);
            assertEquals("written while the replica was dead", replica.queryString("SELECT v FROM t"));
        }
    }

    @Test
    void shouldRecoverKilledPrimaryAndResumeStreaming() {
        try (PostgresCluster cluster = start(1)) {
            PostgresNode primary = cluster.primary();
            primary.execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('before the crash')");
            primary.freeze(); // a kill must work on a frozen node too
            primary.kill();
            assertFalse(primary.isRunning());
            assertFalse(primary.isFrozen());
            StepVerifier.create(selectOne(primary.connectionFactory().create())).expectError().verify(WAIT);

            primary.restart();
            assertFalse(primary.isInRecovery());
            assertEquals("before the crash", primary.queryString("SELECT v FROM t"));
            primary.execute("INSERT INTO t VALUES ('after the crash')");
            cluster.awaitReplication(WAIT);
            assertEquals("2", cluster.node("replica-1").queryString("SELECT count(*) FROM t"));
        }
    }

    @Test
    void shouldStopAndRestartCleanly() {
        try (PostgresCluster cluster = start(0)) {
            PostgresNode primary = cluster.primary();
            int port = primary.port();
            primary.execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')");
            primary.stop();
            assertFalse(primary.isRunning());
            primary.restart();
            assertEquals("kept", primary.queryString("SELECT v FROM t"));
            long pid = primary.pid();
            primary.restart(); // running: stop + start
            assertNotEquals(pid, primary.pid());
            assertTrue(primary.isRunning());
            assertEquals(port, primary.port());
            IllegalStateException notStandby = assertThrows(IllegalStateException.class, primary::promote);
            assertEquals("node 'primary' is not a standby, there is nothing to promote", notStandby.getMessage());
        }
    }

    @Test
    void shouldPromoteReplicaAndRejoinOldPrimaryAsItsReplica() {
        try (PostgresCluster cluster = start(1)) {
            PostgresNode oldPrimary = cluster.primary();
            PostgresNode newPrimary = cluster.node("replica-1");
            int oldPrimaryPort = oldPrimary.port();
            oldPrimary.execute("CREATE TABLE t (v text)");
            cluster.awaitReplication(WAIT);

            oldPrimary.kill();
            newPrimary.promote();
            assertFalse(newPrimary.isInRecovery());
            newPrimary.execute("INSERT INTO t VALUES ('on the new primary')");

            oldPrimary.rejoinAsReplicaOf(newPrimary);
            assertTrue(oldPrimary.isRunning());
            assertTrue(oldPrimary.isInRecovery());
            assertEquals(oldPrimaryPort, oldPrimary.port());
            assertEquals(Integer.toString(oldPrimaryPort), oldPrimary.queryString("SELECT inet_server_port()::text"));
            newPrimary.execute("INSERT INTO t VALUES ('streamed to the old primary')");
            cluster.awaitReplication(WAIT);
            assertEquals("2", oldPrimary.queryString("SELECT count(*) FROM t"));
            assertEquals("primary", newPrimary.queryString(
                    "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"));
            assertEquals("primary", newPrimary.queryString("SELECT slot_name FROM pg_replication_slots WHERE active"));
        }
    }

    @Test
    void shouldNameReplicaAndLsnsWhenReplicationTimesOut() {
        try (PostgresCluster cluster = start(1)) {
            PostgresNode replica = cluster.node("replica-1");
            cluster.primary().execute("CREATE TABLE t (v text)");
            cluster.awaitReplication(WAIT);
            // stop the WAL receiver from writing: freeze only what streams, so SQL still answers
            replica.execute("ALTER SYSTEM SET primary_conninfo = ''");
            replica.execute("SELECT pg_reload_conf()");
            assertEventually("replica-1 no longer streaming", () -> "0".equals(cluster.primary()
                .queryString("SELECT count(*) FROM pg_stat_replication")));
            cluster.primary().execute("INSERT INTO t VALUES ('never replayed')");
            IllegalStateException timeout = assertThrows(IllegalStateException.class,
                    () -> cluster.awaitReplication(Duration.ofMillis(300)));
            assertTrue(timeout.getMessage().matches("replica 'replica-1' did not replay up to LSN [0-9A-F]+/[0-9A-F]+ "
                    + "of 'primary' within PT0\\.3S; it has replayed up to [0-9A-F]+/[0-9A-F]+"), timeout.getMessage());
        }
    }

    @Test
    void shouldLeaveNothingAfterClose() {
        PostgresCluster cluster = start(1);
        Runnable nothingLeft = nothingLeftAfterClose(cluster);
        cluster.node("replica-1").freeze(); // a frozen node ignores a polite stop: close must cope
        cluster.close();
        nothingLeft.run();
        cluster.close(); // idempotent
    }

    static int insert(PostgresNode primary, String label) {
        int id = IDS.incrementAndGet();
        primary.execute("INSERT INTO items VALUES (" + id + ", '" + label + "')");
        return id;
    }

    static String label(PostgresNode node, int id) {
        return node.queryString("SELECT label FROM items WHERE id = " + id);
    }

    static Mono<Integer> selectOne(Publisher<? extends Connection> connection) {
        return Mono.usingWhen(connection,
                c -> Mono.from(c.createStatement("SELECT 1").execute())
                    .flatMap(result -> Mono.from(result.map((row, md) -> row.get(0, Integer.class)))),
                Connection::close);
    }

    static void assertEventually(String what, BooleanSupplier condition) {
        PgProcess.await(what, WAIT, condition);
    }

}
