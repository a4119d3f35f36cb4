package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One Patroni cluster (3 members, from Debian's patroni and etcd-server packages) through a
 * sequence of operations, in order: each test leaves the cluster with a leader and every running
 * member streaming, and the last one closes it and checks that nothing is left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PatroniClusterIntegrationTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static PatroniCluster cluster;

    private static long startMillis;

    @BeforeAll
    static void start() {
        long begin = System.nanoTime();
        cluster = PatroniCluster.start(3);
        startMillis = (System.nanoTime() - begin) / 1_000_000;
    }

    @AfterAll
    static void close() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void shouldStartOneLeaderWithTwoStreamingReplicas() {
        System.out.println("Patroni cluster of 3 started in " + startMillis + " ms");
        PatroniMember leader = cluster.awaitMembersStreaming(TIMEOUT);
        assertEquals(List.of("pg-0", "pg-1", "pg-2"), cluster.members().stream().map(PatroniMember::name).toList());
        for (PatroniMember member : cluster.members()) {
            assertTrue(member.isRunning(), member + " runs");
            assertEquals(member != leader, member.isInRecovery(), member + " in recovery");
            assertEquals("127.0.0.1", member.host());
            assertEquals(Integer.toString(member.port()), member.queryString("SELECT inet_server_port()"));
        }
        // what a user builds a routing factory from: the R2DBC URL and options, no JDBC
        write(ConnectionFactories.get(leader.options()), "CREATE TABLE patroni_test (id int PRIMARY KEY)");
        write(ConnectionFactories.get(leader.options()), "INSERT INTO patroni_test VALUES (1)");
        for (PatroniMember replica : replicasOf(leader)) {
            Await.until("row 1 on " + replica, TIMEOUT,
                    () -> "1".equals(replica.queryString("SELECT count(*) FROM patroni_test WHERE id = 1")));
            String status = (String) replica.status().get("role");
            assertEquals("replica", status, replica + " says it is a replica");
        }
        assertEquals(3, cluster.clusterView().size(), cluster.clusterJson());
        assertEquals(cluster.members().stream().map(PatroniMember::restUrl).toList(), cluster.restUrls());
    }

    @Test
    @Order(2)
    void shouldSwitchOverToCandidateAndRejoinOldLeaderAsReplica() {
        PatroniMember oldLeader = cluster.awaitLeader(TIMEOUT);
        PatroniMember candidate = replicasOf(oldLeader).get(0);
        long begin = System.nanoTime();
        PatroniMember newLeader = cluster.switchover(candidate);
        long switched = (System.nanoTime() - begin) / 1_000_000;
        assertEquals(candidate, newLeader);
        assertFalse(newLeader.isInRecovery());
        assertEquals(candidate, cluster.awaitMembersStreaming(TIMEOUT));
        long rejoined = (System.nanoTime() - begin) / 1_000_000;
        System.out.println("switchover " + oldLeader.name() + " -> " + candidate.name() + ": leader after " + switched
                + " ms, all streaming after " + rejoined + " ms");
        assertTrue(oldLeader.isInRecovery(), "the old leader is a replica now");
        newLeader.execute("INSERT INTO patroni_test VALUES (2)");
        Await.until("row 2 on the old leader", TIMEOUT,
                () -> "1".equals(oldLeader.queryString("SELECT count(*) FROM patroni_test WHERE id = 2")));
        assertThrows(IllegalArgumentException.class, () -> cluster.switchover(newLeader));
    }

    @Test
    @Order(3)
    void shouldElectNewLeaderWithinBoundedTimeWhenLeaderIsKilled() {
        PatroniMember oldLeader = cluster.awaitLeader(TIMEOUT);
        List<Long> processes = Stream.concat(PgProcess.tree(oldLeader.patroniPid()).stream(),
                PgProcess.tree(oldLeader.postmasterPid()).stream()).toList();
        long begin = System.nanoTime();
        assertEquals(oldLeader, cluster.killLeader());
        assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
        assertFalse(oldLeader.isRunning());
        // the leader key expires after ttl (8 s) plus a loop; bounded well under that plus slack
        PatroniMember newLeader = cluster.awaitNewLeader(oldLeader, Duration.ofSeconds(25));
        long elected = (System.nanoTime() - begin) / 1_000_000;
        newLeader.execute("INSERT INTO patroni_test VALUES (3)");
        oldLeader.start();
        cluster.awaitMembersStreaming(TIMEOUT);
        long rejoined = (System.nanoTime() - begin) / 1_000_000;
        System.out.println("leader " + oldLeader.name() + " killed: " + newLeader.name() + " leads after " + elected
                + " ms, the killed one streams again after " + rejoined + " ms");
        assertTrue(oldLeader.isInRecovery());
        Await.until("row 3 on the rejoined member", TIMEOUT,
                () -> "1".equals(oldLeader.queryString("SELECT count(*) FROM patroni_test WHERE id = 3")));
    }

    @Test
    @Order(4)
    void shouldRestartKilledPostgresOfLeaderWithoutFailover() {
        PatroniMember leader = cluster.awaitLeader(TIMEOUT);
        long postmaster = leader.postmasterPid();
        long patroni = leader.patroniPid();
        long begin = System.nanoTime();
        leader.killPostgres();
        assertFalse(PgProcess.isAlive(postmaster));
        // Patroni keeps the leader key and starts PostgreSQL again (crash recovery), no failover
        Await.until("a new postmaster on " + leader.name(), TIMEOUT,
                () -> leader.postmasterPid() > 0 && leader.postmasterPid() != postmaster);
        assertEquals(leader, cluster.awaitLeader(TIMEOUT));
        System.out.println("PostgreSQL of leader " + leader.name() + " killed: leading again after "
                + (System.nanoTime() - begin) / 1_000_000 + " ms");
        assertEquals(patroni, leader.patroniPid(), "the same Patroni");
        leader.execute("INSERT INTO patroni_test VALUES (5)");
        cluster.awaitMembersStreaming(TIMEOUT);
    }

    @Test
    @Order(5)
    void shouldStopAndStartReplica() {
        PatroniMember leader = cluster.awaitLeader(TIMEOUT);
        PatroniMember replica = replicasOf(leader).get(0);
        long postmaster = replica.postmasterPid();
        assertTrue(postmaster > 0);
        replica.stop();
        assertFalse(replica.isRunning());
        assertFalse(PgProcess.isAlive(postmaster), "the replica's postmaster is gone");
        // a graceful stop removes the member from Patroni's view
        Await.until(replica.name() + " gone from /cluster", TIMEOUT,
                () -> !cluster.clusterView().containsKey(replica.name()), () -> cluster.clusterJson());
        leader.execute("INSERT INTO patroni_test VALUES (4)");
        IllegalStateException notRunning = assertThrows(IllegalStateException.class, replica::killPostgres);
        assertEquals("cannot kill the PostgreSQL of member '" + replica.name() + "': it is not running",
                notRunning.getMessage());
        replica.start();
        assertEquals(leader, cluster.awaitMembersStreaming(TIMEOUT));
        Await.until("row 4 on the restarted replica", TIMEOUT,
                () -> "1".equals(replica.queryString("SELECT count(*) FROM patroni_test WHERE id = 4")));
        assertThrows(IllegalStateException.class, replica::start);
    }

    @Test
    @Order(6)
    void shouldAddMemberThatJoinsAsStreamingReplica() {
        long begin = System.nanoTime();
        PatroniMember added = cluster.addMember(Map.of("noloadbalance", true));
        PatroniMember leader = cluster.awaitMembersStreaming(TIMEOUT);
        System.out.println("member " + added.name() + " added and streaming after " + (System.nanoTime() - begin)
                / 1_000_000 + " ms");
        assertEquals("pg-3", added.name());
        assertNotEquals(leader, added);
        assertTrue(added.isInRecovery());
        assertEquals("1", added.queryString("SELECT count(*) FROM patroni_test WHERE id = 4"));
        Object tags = cluster.clusterView().get("pg-3").get("tags");
        assertEquals(Map.of("noloadbalance", true), tags, cluster.clusterJson());
        assertThrows(IllegalArgumentException.class, () -> cluster.addMember(Map.of("nosuchtag", true)));
    }

    @Test
    @Order(7)
    void shouldLeaveNoProcessAndNoDirectoryAfterClose() throws IOException {
        Path dir = cluster.directory();
        List<Long> processes = cluster.processes();
        // etcd, 4 Patroni, 4 postmasters with children
        assertTrue(processes.size() > 9, "processes: " + processes);
        cluster.close();
        cluster.close(); // idempotent
        assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: "
                + processes.stream().filter(PgProcess::isAlive).toList());
        assertFalse(Files.exists(dir), dir + " still exists");
        assertEquals(List.of(), processesNaming(dir), "processes naming " + dir);
        assertThrows(IllegalStateException.class, cluster::addMember);
    }

    private static List<PatroniMember> replicasOf(PatroniMember leader) {
        return cluster.members().stream().filter(m -> m != leader && m.isRunning()).toList();
    }

    /** Live processes whose command line names a path below {@code dir}. */
    static List<String> processesNaming(Path dir) throws IOException {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("\\d+")).flatMap(p -> {
                try {
                    String cmdline = Files.readString(p.resolve("cmdline"), StandardCharsets.UTF_8).replace('\0', ' ');
                    return cmdline.contains(dir.toString()) && PgProcess.isAlive(Long.parseLong(p.getFileName().toString()))
                            ? Stream.of(p.getFileName() + ": " + cmdline) : Stream.empty();
                }
                catch (IOException ex) {
                    return Stream.empty();
                }
            }).toList();
        }
    }

    private static void write(ConnectionFactory factory, String sql) {
        Mono.usingWhen(Mono.from(factory.create()),
                (Connection c) -> Flux.from(c.createStatement(sql).execute()).concatMap(Result::getRowsUpdated).then(),
                Connection::close)
            .block(Duration.ofSeconds(10));
    }

}
