package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * {@link MariaDbCluster} against the local MariaDB binaries: GTID replication works, and every
 * fault does what its name says, seen through the R2DBC MariaDB driver as an application sees it.
 * One cluster serves the faults that are undone within their test; promotion, rejoin and close
 * get clusters of their own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalMariaDbClusterIntegrationTests {

    private static final Logger LOG = Loggers.getLogger(LocalMariaDbClusterIntegrationTests.class);

    private static final Duration REPLICATION = Duration.ofSeconds(10);

    private final List<Path> clusterDirectories = new ArrayList<>();

    private MariaDbCluster cluster;

    private long classStarted;

    @BeforeAll
    void startCluster() {
        // no silent skip: without MariaDB binaries these tests fail and say how to get them
        String unavailable = MariaDbCluster.unavailableReason();
        if (unavailable != null) {
            throw new IllegalStateException("no MariaDB binaries (apt-get install mariadb-server, or set MARIADB_BIN): " + unavailable);
        }
        classStarted = System.nanoTime();
        cluster = started(2);
        cluster.primary().execute("CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(40))");
    }

    @AfterAll
    void closeCluster() {
        if (cluster != null) {
            cluster.close();
            assertNoServerLeftIn(clusterDirectories);
            LOG.info("MariaDB testkit class took {} ms", (System.nanoTime() - classStarted) / 1_000_000);
        }
    }

    private MariaDbCluster started(int replicas) {
        long begin = System.nanoTime();
        MariaDbCluster started = MariaDbCluster.start(replicas);
        clusterDirectories.add(started.directory());
        StringBuilder times = new StringBuilder();
        for (MariaDbNode node : started.nodes()) {
            times.append(' ').append(node.name()).append('=').append(node.lastStartTime().toMillis()).append("ms");
        }
        LOG.info("MariaDB cluster with {} replica(s) up in {} ms; node starts:{}", replicas,
                (System.nanoTime() - begin) / 1_000_000, times);
        return started;
    }

    @Test
    void shouldReplicateWritesFromPrimaryToEveryReplicaThroughGtid() {
        MariaDbNode primary = cluster.primary();
        primary.execute("INSERT INTO items VALUES (1, 'written on the primary')");
        cluster.awaitReplication(REPLICATION);
        for (MariaDbNode replica : cluster.replicas()) {
            assertEquals("written on the primary", replica.queryString("SELECT label FROM items WHERE id = 1"),
                    replica.name());
            assertEquals("Slave_Pos", replica.replicaStatus().get("Using_Gtid"), replica.name());
            assertEquals(Integer.toString(primary.port()), replica.replicaStatus().get("Master_Port"), replica.name());
            assertEquals(primary.gtidBinlogPos(), replica.gtidSlavePos(), replica.name());
            assertEquals("1", replica.queryString("SELECT @@read_only"), replica.name());
        }
        assertEquals("0", primary.queryString("SELECT @@read_only"));
        assertEquals(List.of(1, 2, 3), cluster.nodes().stream().map(MariaDbNode::serverId).toList());
        for (MariaDbNode node : cluster.nodes()) {
            assertEquals(Integer.toString(node.serverId()), node.queryString("SELECT @@server_id"), node.name());
            assertEquals("1", node.queryString("SELECT @@log_bin"), node.name());
            assertEquals("1", node.queryString("SELECT @@gtid_strict_mode"), node.name());
            assertEquals(Integer.toString(node.port()), node.queryString("SELECT @@port"), node.name());
            assertNotEquals(3306, node.port());
        }
    }

    @Test
    void shouldRefuseAppUserWritesOnReadOnlyReplicas() {
        MariaDbNode replica = cluster.node("replica-1");
        IllegalStateException failure = assertThrows(IllegalStateException.class,
                () -> replica.execute("INSERT INTO items VALUES (100, 'must not land')"));
        assertTrue(failure.getMessage().contains("read-only"), failure.getMessage());
    }

    @Test
    void shouldConnectWithTheUrlThatCarriesTheCredentials() {
        MariaDbNode primary = cluster.primary();
        ConnectionFactory factory = ConnectionFactories.get(primary.r2dbcUrlWithCredentials());
        assertEquals("app@%", Sql.queryString(factory, primary, "SELECT CURRENT_USER()"));
        assertFalse(primary.r2dbcUrl().contains(primary.password()));
        assertFalse(primary.toString().contains(primary.password()));
        assertEquals("MariaDB", Mono.usingWhen(Mono.from(factory.create()),
                connection -> Mono.just(connection.getMetadata().getDatabaseProductName()), Connection::close)
            .block(Duration.ofSeconds(10)));
    }

    @Test
    void shouldCountAnOpenClientSessionForTheLeakCheck() {
        MariaDbNode replica = cluster.node("replica-1");
        SessionLeakCheck leaks = SessionLeakCheck.before(cluster);
        Connection connection = Mono.from(replica.connectionFactory().create()).block(Duration.ofSeconds(10));
        try {
            assertEquals(leaks.sessionsBefore(replica) + 1, replica.clientSessions());
            assertThrows(AssertionError.class, () -> leaks.assertNoSessionLeft(Duration.ofMillis(200)));
        }
        finally {
            Mono.from(connection.close()).block(Duration.ofSeconds(10));
        }
        leaks.assertNoSessionLeft(Duration.ofSeconds(10));
    }

    @Test
    void shouldRefuseConnectionsAfterKillAndCatchUpAfterRestart() {
        MariaDbNode replica = cluster.node("replica-1");
        long pid = replica.pid();
        replica.kill();
        assertFalse(replica.isRunning());
        assertFalse(PgProcess.isAlive(pid));
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> replica.queryString("SELECT 1"));
        assertTrue(causes(refused).toLowerCase(Locale.ROOT).contains("connection refused"), causes(refused));

        cluster.primary().execute("INSERT INTO items VALUES (2, 'written while replica-1 was down')");
        replica.restart();
        LOG.info("replica-1 restarted after kill -9 in {} ms", replica.lastStartTime().toMillis());
        assertNotEquals(pid, replica.pid());
        assertEquals("1", replica.queryString("SELECT 1"));
        cluster.awaitReplication(REPLICATION);
        assertEquals("written while replica-1 was down", replica.queryString("SELECT label FROM items WHERE id = 2"));
    }

    @Test
    void shouldTimeOutWhileFrozenAndAnswerAfterThaw() {
        MariaDbNode replica = cluster.node("replica-2");
        replica.freeze();
        try {
            assertTrue(replica.isFrozen());
            assertTrue(replica.isRunning());
            StepVerifier.create(selectOne(replica).timeout(Duration.ofSeconds(1)))
                .expectError(TimeoutException.class)
                .verify(Duration.ofSeconds(10));
        }
        finally {
            replica.thaw();
        }
        assertFalse(replica.isFrozen());
        StepVerifier.create(selectOne(replica).timeout(Duration.ofSeconds(5)))
            .expectNext("1")
            .verifyComplete();
    }

    @Test
    void shouldStopApplyingWhilePausedAndCatchUpOnResume() {
        MariaDbNode primary = cluster.primary();
        MariaDbNode replica = cluster.node("replica-2");
        cluster.awaitReplication(REPLICATION);
        replica.pauseReplay();
        try {
            assertTrue(replica.isReplayPaused());
            String appliedBefore = replica.gtidSlavePos();
            String primaryBefore = primary.gtidCurrentPos();
            primary.execute("INSERT INTO items VALUES (3, 'written while replay was paused')");
            String primaryAfter = primary.gtidCurrentPos();
            assertNotEquals(primaryBefore, primaryAfter, "the primary's position advances");
            // the IO thread still receives: the event reaches the replica, which does not apply it
            Await.until("replica-2 receiving " + primaryAfter, REPLICATION,
                    () -> primaryAfter.equals(replica.replicaStatus().get("Gtid_IO_Pos")),
                    () -> "Gtid_IO_Pos=" + replica.replicaStatus().get("Gtid_IO_Pos"));
            assertEquals(appliedBefore, replica.gtidSlavePos(), "a paused replica's gtid_slave_pos stays");
            assertNull(replica.queryString("SELECT label FROM items WHERE id = 3"));
            cluster.awaitReplication(REPLICATION); // skips the paused replica, waits for the other
            assertEquals("written while replay was paused",
                    cluster.node("replica-1").queryString("SELECT label FROM items WHERE id = 3"));
        }
        finally {
            replica.resumeReplay();
        }
        assertFalse(replica.isReplayPaused());
        cluster.awaitReplication(REPLICATION);
        assertEquals(primary.gtidCurrentPos(), replica.gtidSlavePos());
        assertEquals("written while replay was paused", replica.queryString("SELECT label FROM items WHERE id = 3"));
    }

    @Test
    void shouldPromoteReplicaRepointOthersAndRejoinOldPrimary() {
        try (MariaDbCluster own = started(2)) {
            MariaDbNode oldPrimary = own.primary();
            MariaDbNode promoted = own.node("replica-1");
            MariaDbNode other = own.node("replica-2");
            oldPrimary.execute("CREATE TABLE events (id INT PRIMARY KEY, what VARCHAR(40))");
            oldPrimary.execute("INSERT INTO events VALUES (1, 'before the failover')");
            own.awaitReplication(REPLICATION);

            oldPrimary.kill();
            promoted.promote();
            assertFalse(promoted.isReplica());
            assertEquals("0", promoted.queryString("SELECT @@read_only"));
            assertEquals(Integer.toString(promoted.port()), other.replicaStatus().get("Master_Port"));
            assertEquals(promoted, own.currentPrimary());

            promoted.execute("INSERT INTO events VALUES (2, 'on the new primary')");
            own.awaitReplication(REPLICATION);
            assertEquals("on the new primary", other.queryString("SELECT what FROM events WHERE id = 2"));

            oldPrimary.rejoinAsReplicaOf(promoted);
            LOG.info("old primary rejoined (fresh data, full binlog replay) in {} ms",
                    oldPrimary.lastStartTime().toMillis());
            assertTrue(oldPrimary.isReplica());
            assertEquals(101, oldPrimary.serverId());
            assertEquals("101", oldPrimary.queryString("SELECT @@server_id"));
            assertEquals("1", oldPrimary.queryString("SELECT @@read_only"));
            promoted.execute("INSERT INTO events VALUES (3, 'after the rejoin')");
            own.awaitReplication(REPLICATION);
            for (MariaDbNode node : List.of(oldPrimary, other)) {
                assertEquals("3", node.queryString("SELECT COUNT(*) FROM events"), node.name());
                assertEquals(promoted.gtidBinlogPos(), node.gtidSlavePos(), node.name());
            }
            assertThrows(IllegalStateException.class, () -> oldPrimary.execute("INSERT INTO events VALUES (4, 'no')"));
            assertThrows(IllegalArgumentException.class, () -> promoted.rejoinAsReplicaOf(promoted));
            assertThrows(IllegalStateException.class, promoted::promote);
        }
    }

    @Test
    void shouldLeaveNoServerNorDirectoryAfterClose() {
        MariaDbCluster own = started(1);
        Path dir = own.directory();
        List<Long> pids = own.nodes().stream().map(MariaDbNode::pid).toList();
        assertTrue(pids.stream().allMatch(PgProcess::isAlive), pids.toString());
        assertFalse(serversIn(List.of(dir)).isEmpty(), "the scan sees our servers");
        own.node("replica-1").freeze(); // a frozen server must go too
        own.close();
        assertTrue(pids.stream().noneMatch(PgProcess::isAlive), "processes left: " + pids);
        assertFalse(Files.exists(dir), dir + " still exists");
        assertNoServerLeftIn(List.of(dir));
        own.close(); // idempotent
    }

    @Test
    void shouldReapClusterOfDeadJvm() throws Exception {
        try (MariaDbCluster own = started(0)) {
            Path dir = own.directory();
            long pid = own.primary().pid();
            Process exited = new ProcessBuilder("true").start();
            exited.waitFor();
            Files.writeString(dir.resolve(StaleClusterReaper.OWNER_FILE), Long.toString(exited.pid()));
            StaleClusterReaper.reap(dir.getParent());
            // SIGKILL is sent; the kernel and the JVM's process reaper finish it asynchronously
            Await.until("mariadbd " + pid + " gone", Duration.ofSeconds(10), () -> !PgProcess.isAlive(pid));
            assertFalse(Files.exists(dir), dir + " still exists");
        } // closing a cluster whose server and directory are gone must not throw
    }

    private static Mono<String> selectOne(MariaDbNode node) {
        ConnectionFactory factory = node.connectionFactory();
        return Mono.usingWhen(Mono.from(factory.create()),
                connection -> Flux.from(connection.createStatement("SELECT 1").execute())
                    .concatMap(result -> result.map((row, metadata) -> String.valueOf(row.get(0))))
                    .next(),
                Connection::close);
    }

    private static String causes(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            text.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(" / ");
        }
        return text.toString();
    }

    /** Live mariadbd processes whose command line names one of {@code directories}. */
    private static List<Long> serversIn(List<Path> directories) {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                String name = proc.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String cmdline;
                try {
                    cmdline = Files.readString(proc.resolve("cmdline"), StandardCharsets.UTF_8).replace('\0', ' ');
                }
                catch (IOException ex) {
                    continue; // exited meanwhile
                }
                long pid = Long.parseLong(name);
                if (cmdline.contains("mariadbd") && PgProcess.isAlive(pid)
                        && directories.stream().anyMatch(dir -> cmdline.contains(dir.toString()))) {
                    found.add(pid);
                }
            }
        }
        catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
        return found;
    }

    private static void assertNoServerLeftIn(List<Path> directories) {
        assertEquals(List.of(), serversIn(directories), "mariadbd processes of our clusters left after close");
    }

}
