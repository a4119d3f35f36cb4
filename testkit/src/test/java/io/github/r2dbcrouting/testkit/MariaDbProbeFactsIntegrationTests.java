package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.R2dbcException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The MariaDB 10.11 behaviour that {@code docs/mariadb-dialect-notes.md} reports for the dialect's
 * probes, asserted against a real primary and replica through r2dbc-mariadb, so that a change of
 * server or driver version that breaks a note fails here. One cluster for the class
 * ({@link MariaDbClusterExtension}), which checks that no test leaves a session behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MariaDbProbeFactsIntegrationTests {

    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
        .replicas(1)
        .schema("CREATE TABLE t (id INT PRIMARY KEY)")
        .build();

    private MariaDbCluster cluster;

    private MariaDbNode primary;

    private MariaDbNode replica;

    @BeforeAll
    void start() {
        cluster = CLUSTER.cluster();
        primary = cluster.primary();
        replica = cluster.node("replica-1");
        primary.executeAsAdmin("CREATE USER 'p_none'@'%' IDENTIFIED BY 'pw-p_none';"
                + "CREATE USER 'p_rc'@'%' IDENTIFIED BY 'pw-p_rc'; GRANT REPLICATION CLIENT ON *.* TO 'p_rc'@'%';"
                + "CREATE USER 'p_sm'@'%' IDENTIFIED BY 'pw-p_sm'; GRANT SLAVE MONITOR ON *.* TO 'p_sm'@'%';");
        cluster.awaitReplication(Duration.ofSeconds(10));
    }

    @Test
    void shouldReportProductNameMariaDbForDetection() {
        ConnectionFactory factory = primary.connectionFactory();
        assertEquals("MariaDB", factory.getMetadata().getName());
        List<String> metadata = Mono.usingWhen(Mono.from(factory.create()),
                c -> Mono.just(List.of(c.getMetadata().getDatabaseProductName(), c.getMetadata().getDatabaseVersion())),
                Connection::close)
            .block(Duration.ofSeconds(10));
        assertEquals("MariaDB", metadata.get(0));
        assertTrue(metadata.get(1).startsWith("10.11.") && metadata.get(1).contains("MariaDB"), metadata.get(1));
    }

    @Test
    void shouldAnswerRoleVariablesAndStatusWithoutAnyPrivilege() {
        assertEquals(List.of("[{@@read_only=0, @@gtid_slave_pos=}]", "[{Variable_name=Slave_running, Value=OFF}]"),
                run(as(primary, "p_none"), "SELECT @@read_only, @@gtid_slave_pos",
                        "SHOW GLOBAL STATUS LIKE 'Slave_running'"));
        String slavePos = replica.gtidSlavePos();
        assertEquals(List.of("[{@@read_only=1, @@gtid_slave_pos=" + slavePos + "}]",
                "[{Variable_name=Slave_running, Value=ON}]"),
                run(as(replica, "p_none"), "SELECT @@read_only, @@gtid_slave_pos",
                        "SHOW GLOBAL STATUS LIKE 'Slave_running'"));
    }

    @Test
    void shouldNeedSlaveMonitorForReplicaStatusAndNotReplicationClient() {
        String denied = "ERROR 1227: Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation";
        assertEquals(List.of(denied), run(as(replica, "p_none"), "SHOW REPLICA STATUS"));
        assertEquals(List.of(denied), run(as(replica, "p_rc"), "SHOW REPLICA STATUS"));
        assertTrue(run(as(replica, "p_sm"), "SHOW REPLICA STATUS").get(0).contains("Seconds_Behind_Master=0"));
        assertEquals(List.of("[]"), run(as(primary, "p_sm"), "SHOW REPLICA STATUS"), "a primary has no row");
        assertEquals("GRANT BINLOG MONITOR ON *.* TO `p_rc`@`%`",
                primary.executeAsAdmin("SHOW GRANTS FOR 'p_rc'@'%'").replaceAll(" IDENTIFIED BY PASSWORD .*", ""),
                "REPLICATION CLIENT is an alias of BINLOG MONITOR");
        assertEquals(List.of("ERROR 1227: Access denied; you need (at least one of) the SUPER, BINLOG MONITOR privilege(s) "
                + "for this operation"), run(as(primary, "p_sm"), "SHOW BINLOG STATUS"));
    }

    @Test
    void shouldReportNullSecondsBehindMasterWhileApplyIsPaused() {
        replica.pauseReplay();
        try {
            primary.execute("INSERT INTO t VALUES (1)");
            String target = primary.gtidBinlogPos();
            Await.until("replica-1 receiving " + target, Duration.ofSeconds(10),
                    () -> target.equals(replica.replicaStatus().get("Gtid_IO_Pos")));
            Map<String, String> status = replica.replicaStatus();
            assertEquals("NULL", status.get("Seconds_Behind_Master"));
            assertEquals("No", status.get("Slave_SQL_Running"));
            assertEquals("Yes", status.get("Slave_IO_Running"));
            assertEquals(List.of("[{Variable_name=Slave_running, Value=OFF}]"),
                    run(as(replica, "p_none"), "SHOW GLOBAL STATUS LIKE 'Slave_running'"));
            assertEquals(List.of("[{w=-1}]"), run(as(replica, "p_none"),
                    "SELECT MASTER_GTID_WAIT('" + target + "', 0.2) AS w"));
        }
        finally {
            replica.resumeReplay();
        }
        assertEquals(List.of("[{w=0}]"), run(as(replica, "p_none"),
                "SELECT MASTER_GTID_WAIT('" + primary.gtidBinlogPos() + "', 10) AS w"));
    }

    @Test
    void shouldSetLastGtidOnCommitOnlyAndCompareGtidsByDomainAndSequence() {
        List<String> session = run(primary.connectionFactory(), "SELECT @@last_gtid AS g", "INSERT INTO t VALUES (2)",
                "SELECT @@last_gtid AS g", "BEGIN", "INSERT INTO t VALUES (3)", "SELECT @@last_gtid AS g", "COMMIT",
                "SELECT @@last_gtid AS g", "SELECT * FROM t WHERE id = 2", "SELECT @@last_gtid AS g",
                "SELECT @@last_gtid = @@gtid_binlog_pos AS s");
        assertEquals("[{g=}]", session.get(0), "empty before the session writes");
        assertTrue(session.get(2).matches("\\[\\{g=0-1-\\d+}]"), session.get(2));
        assertEquals(session.get(2), session.get(5), "not updated before COMMIT");
        assertTrue(!session.get(7).equals(session.get(2)) && session.get(7).matches("\\[\\{g=0-1-\\d+}]"),
                "updated by COMMIT: " + session);
        assertEquals(session.get(7), session.get(9), "not changed by a read");
        assertEquals("[{s=1}]", session.get(10), "the primary's latest GTID, nobody else writes");
        cluster.awaitReplication(Duration.ofSeconds(10));
        long seq = Long.parseLong(primary.gtidBinlogPos().substring("0-1-".length()));
        assertEquals(List.of("[{w=0}]", "[{w=0}]", "[{w=-1}]", "[{w=-1}]", "[{w=0}]"), run(as(replica, "p_none"),
                "SELECT MASTER_GTID_WAIT('0-1-" + seq + "', 0) AS w",
                "SELECT MASTER_GTID_WAIT('0-99-" + seq + "', 0) AS w", // server_id does not count
                "SELECT MASTER_GTID_WAIT('0-1-" + (seq + 1) + "', 0) AS w",
                "SELECT MASTER_GTID_WAIT('0-1-1,7-1-1', 0) AS w", // every domain must be reached
                "SELECT MASTER_GTID_WAIT('', 0) AS w"));
        assertEquals(List.of("[{w=-1}]"), run(primary.connectionFactory(),
                "SELECT MASTER_GTID_WAIT('0-1-1', 0) AS w"), "on a primary it looks at gtid_slave_pos, which is empty");
    }

    @Test
    void shouldRefuseWritesInReadOnlySessionsAndOnReadOnlyServers() {
        assertEquals(List.of("[]", "[{@@tx_read_only=1}]",
                "ERROR 1792: Cannot execute statement in a READ ONLY transaction", "[]", "[{@@tx_read_only=0}]", "[]"),
                run(primary.connectionFactory(), "SET SESSION TRANSACTION READ ONLY", "SELECT @@tx_read_only",
                        "INSERT INTO t VALUES (10)", "SET SESSION TRANSACTION READ WRITE", "SELECT @@tx_read_only",
                        "INSERT INTO t VALUES (10)"));
        assertEquals(List.of("ERROR 1290: The MariaDB server is running with the --read-only option so it cannot "
                + "execute this statement"), run(replica.connectionFactory(), "INSERT INTO t VALUES (11)"));
    }

    @Test
    void shouldLetOnlyReadOnlyAdminWriteOnAReadOnlyServer() {
        primary.executeAsAdmin("CREATE USER 'p_roa'@'%' IDENTIFIED BY 'pw-p_roa'; GRANT READ_ONLY ADMIN ON *.* TO 'p_roa'@'%';"
                + "GRANT INSERT ON app.* TO 'p_roa'@'%';"
                + "CREATE USER 'p_super'@'%' IDENTIFIED BY 'pw-p_super'; GRANT SUPER ON *.* TO 'p_super'@'%';"
                + "GRANT INSERT ON app.* TO 'p_super'@'%';");
        primary.executeAsAdmin("SET GLOBAL read_only = 1"); // on the primary, so that no replica diverges
        try {
            assertEquals(List.of("[]"), run(as(primary, "p_roa"), "INSERT INTO app.t VALUES (20)"));
            assertEquals(List.of("ERROR 1290: The MariaDB server is running with the --read-only option so it cannot "
                    + "execute this statement"), run(as(primary, "p_super"), "INSERT INTO app.t VALUES (21)"),
                    "SUPER alone does not pass read_only in 10.11");
            assertEquals(List.of("ERROR 1290: The MariaDB server is running with the --read-only option so it cannot "
                    + "execute this statement"), run(primary.connectionFactory(), "INSERT INTO t VALUES (22)"));
        }
        finally {
            primary.executeAsAdmin("SET GLOBAL read_only = 0");
        }
    }

    private static ConnectionFactory as(MariaDbNode node, String user) {
        return ConnectionFactories.get(ConnectionFactoryOptions.builder()
            .option(ConnectionFactoryOptions.DRIVER, "mariadb")
            .option(ConnectionFactoryOptions.HOST, node.host())
            .option(ConnectionFactoryOptions.PORT, node.port())
            .option(ConnectionFactoryOptions.USER, user)
            .option(ConnectionFactoryOptions.PASSWORD, "pw-" + user)
            .build());
    }

    /** Each statement's rows as a list of column maps, or {@code ERROR code: message}, on one connection. */
    private static List<String> run(ConnectionFactory factory, String... sqls) {
        return Mono.usingWhen(Mono.from(factory.create()), connection -> Flux.fromArray(sqls)
            .concatMap(sql -> Flux.from(connection.createStatement(sql).execute())
                .concatMap(result -> result.map((row, metadata) -> {
                    Map<String, Object> columns = new LinkedHashMap<>();
                    for (int i = 0; i < metadata.getColumnMetadatas().size(); i++) {
                        Object value = row.get(i);
                        columns.put(metadata.getColumnMetadatas().get(i).getName(), value == null ? "NULL" : value);
                    }
                    return columns.toString();
                }))
                .collectList()
                .map(Object::toString)
                .onErrorResume(R2dbcException.class,
                        ex -> Mono.just("ERROR " + ex.getErrorCode() + ": " + ex.getMessage())))
            .collectList()
            .map(ArrayList::new), Connection::close)
            .block(Duration.ofSeconds(30));
    }

}
