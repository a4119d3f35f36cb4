package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import io.github.r2dbcrouting.testkit.StatementCounter;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * {@link ConsistencySuite} on a real MariaDB primary with two GTID replicas (the testkit's
 * {@link MariaDbCluster}, one for the class), replication paused with {@code STOP REPLICA SQL_THREAD},
 * and what only MariaDB does: a replica whose probe saw replication stopped, the cost of a session
 * write, a replica without GTID.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MariaDbConsistencyIntegrationTests extends ConsistencySuite {

    private static final Logger LOGGER = Loggers.getLogger(MariaDbConsistencyIntegrationTests.class);

    /** How long a lock holder keeps its lock unless killed: within the testkit's bound on an admin statement. */
    private static final int LOCK_HOLDER_SLEEP = 12;

    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
        .replicas(2)
        .schema(SCHEMA)
        .build();

    MariaDbConsistencyIntegrationTests() {
        super(Family.mariaDb(CLUSTER), 16, 100);
    }

    /**
     * A replica whose SQL thread runs but stands still, held by a lock, with a transaction it
     * received and does not apply, is given up on as one whose replication is stopped. On every
     * replica {@code root} holds a next-key lock (an open {@code SELECT ... FOR UPDATE}, which the
     * app user may not run on a read-only server) over the id the session then inserts, so that
     * the replica's applier waits on it.
     */
    @Test
    void shouldGiveUpOnReplicasWhoseApplierIsHeldByALock() {
        RoutingConnectionFactory factory = unprobedFactory();
        long id = IDS.incrementAndGet();
        List<CompletableFuture<?>> holders = new ArrayList<>();
        try {
            for (MariaDbNode replica : CLUSTER.replicas()) {
                holders.add(CompletableFuture.runAsync(() -> replica.executeAsAdmin("BEGIN; SELECT id FROM " + replica.database()
                    + ".notes WHERE id >= " + id + " FOR UPDATE; SELECT SLEEP(" + LOCK_HOLDER_SLEEP + "); ROLLBACK")));
                Await.until("the lock on '" + replica.name() + "' held", FEW_INTERVALS, () -> !lockHolder(replica).isEmpty());
            }
            assertSessionReadGoesToThePrimaryLongBeforeSessionWait(factory, id, "every replica's applier held by a lock");
            assertThat(CLUSTER.replicas()).as("appliers running, held").allSatisfy(replica -> assertThat(replica.isReplayPaused()).isFalse());
        } finally {
            for (MariaDbNode replica : CLUSTER.replicas()) {
                String holder = lockHolder(replica);
                if (!holder.isEmpty()) {
                    replica.executeAsAdmin("KILL " + holder);
                }
            }
            holders.forEach(holder -> holder.handle((done, error) -> null).join());
        }
    }

    /**
     * A replica applying a big transaction is waited for, not taken for a stalled one: its
     * executed position moves only at the transaction's commit, but the rows it changes move all
     * along. Found in review: 30,000 rows and more went to the primary after 42-57 ms although the
     * replicas caught up 73-464 ms later.
     */
    @Test
    void shouldWaitForAReplicaApplyingABigTransaction() {
        RoutingConnectionFactory factory = unprobedFactory();
        int rows = 100_000;
        long base = 1_000_000_000L;
        ConsistencySession session = ConsistencySession.create();
        try {
            Db.update(factory, "INSERT INTO notes (id, body) SELECT " + base + " + seq, 'bulk' FROM seq_1_to_" + rows)
                .contextWrite(Routing.session(session)).block(Duration.ofSeconds(60));
            long start = System.nanoTime();
            Seen seen = sessionRead(factory, base + rows, session).block(LONG_SESSION_WAIT.plusSeconds(10));
            LOGGER.info("session read after a {}-row transaction: {} after {} ms", rows, seen, (System.nanoTime() - start) / 1_000_000);
            assertThat(seen).as("the session read right after a %d-row transaction", rows).isEqualTo(new Seen(true, true));
        } finally {
            CLUSTER.primary().execute("DELETE FROM notes WHERE id > " + base);
        }
    }

    /** The connection id of the lock holder's session while it sleeps on its lock, or empty. */
    private static String lockHolder(MariaDbNode replica) {
        return replica.executeAsAdmin("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(" + LOCK_HOLDER_SLEEP + ")'");
    }

    /**
     * The factory knows the paused replica is paused ({@code Seconds_Behind_Master} NULL, a
     * snapshot's lagTime null): a read waits on the other replica, not on it, although it comes first.
     */
    @Test
    void shouldWaitOnAReplicaThatReplicatesRatherThanOneSeenNotReplicating() {
        MariaDbNode paused = CLUSTER.replicas().get(0);
        paused.pauseReplay();
        Await.until("'" + paused.name() + "' seen not replicating", FEW_INTERVALS, () -> this.factory.nodes().stream()
            .anyMatch(n -> n.name().equals(paused.name()) && n.role() == NodeRole.REPLICA && n.lagTime() == null),
            () -> this.factory.nodes().toString());
        assertSessionReadsWaitOnTheOtherReplica(paused);
    }

    /**
     * Session writes cost no round trip on release; a session read or {@code settled()} costs at
     * most one {@code SELECT @@gtid_binlog_pos}, shared. Writes per second at concurrency 8, plain
     * and through a session (settled per write, as a web filter issuing a token per request
     * does), measured side by side in one run.
     */
    @Test
    void shouldCostNoRoundTripPerSessionWriteAndMeasureItAgainstPlainWrites() {
        StatementCounter primary = countingPositions();
        RoutingConnectionFactory factory = factory("counted", Duration.ofMillis(300), primary, null);
        int concurrency = 8;
        int perWorker = 100;
        // warm up both paths
        runWrites(factory, concurrency, 5, Mode.PLAIN);
        runWrites(factory, concurrency, 5, Mode.SESSION);

        long before = positionQueries(primary);
        runWrites(factory, concurrency, perWorker, Mode.SESSION);
        assertThat(positionQueries(primary) - before).as("position queries for %d session writes, nothing read yet", concurrency * perWorker).isZero();

        int rounds = 5;
        double[] plain = new double[rounds];
        double[] session = new double[rounds];
        double[] settled = new double[rounds];
        long settledQueries = 0;
        for (int round = 0; round < rounds; round++) {
            plain[round] = runWrites(factory, concurrency, perWorker, Mode.PLAIN);
            session[round] = runWrites(factory, concurrency, perWorker, Mode.SESSION);
            long queries = positionQueries(primary);
            settled[round] = runWrites(factory, concurrency, perWorker, Mode.SETTLED);
            settledQueries += positionQueries(primary) - queries;
        }
        long settledWrites = (long) rounds * concurrency * perWorker;
        LOGGER.info("MariaDB session write cost at concurrency {}: plain {} writes/s, session (no settle) {} writes/s, "
                + "session + settled() {} writes/s (median of {} interleaved rounds of {} writes); position queries: 0 for session writes, "
                + "{} for {} settled writes ({} per write)", concurrency, median(plain), median(session), median(settled),
            rounds, concurrency * perWorker, settledQueries, settledWrites, String.format(Locale.ROOT, "%.2f", (double) settledQueries / settledWrites));
        assertThat(settledQueries).as("at most one position query per settled write").isLessThanOrEqualTo(settledWrites);
    }

    private enum Mode { PLAIN, SESSION, SETTLED }

    private static long median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return Math.round(sorted[sorted.length / 2]);
    }

    /** Writes per second of {@code concurrency} workers each writing {@code perWorker} rows in turn. */
    private static double runWrites(RoutingConnectionFactory factory, int concurrency, int perWorker, Mode mode) {
        long start = System.nanoTime();
        Flux.range(0, concurrency)
            .flatMap(worker -> Flux.range(0, perWorker).concatMap(i -> {
                long id = IDS.incrementAndGet();
                if (mode == Mode.PLAIN) {
                    return insert(factory, id);
                }
                ConsistencySession session = ConsistencySession.create();
                Mono<Long> write = insert(factory, id).contextWrite(Routing.session(session));
                return mode == Mode.SESSION ? write : write.flatMap(n -> session.settled().thenReturn(n));
            }), concurrency)
            .blockLast(Duration.ofSeconds(120));
        return concurrency * perWorker / ((System.nanoTime() - start) / 1e9);
    }

    /**
     * A replica switched to replication by binary log file and position: one warning naming it at
     * start-up, and session reads never use it, also while it has applied the write and the only
     * GTID replica is paused. Its {@code gtid_slave_pos} is emptied before the switch takes effect,
     * but MariaDB 10.11 fills it again from the GTID events it applies by file and position (the
     * test logs it), so what is covered is a replica whose list looks current: the rule is
     * {@code Using_Gtid = No}, whatever the list says. Runs last; puts the replica back on GTID.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void shouldWarnAboutAReplicaWithoutGtidAndNeverTrustItForSessionReads() {
        MariaDbNode gtidless = CLUSTER.replicas().get(1);
        MariaDbNode other = CLUSTER.replicas().get(0);
        // only the factory built below probes the replica: its warning is the one the test looks for
        ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
        this.factory = null;
        gtidless.executeAsAdmin("STOP REPLICA; CHANGE MASTER TO MASTER_USE_GTID = no; SET GLOBAL gtid_slave_pos = ''; START REPLICA");
        Await.until("'" + gtidless.name() + "' replicating by file and position", FEW_INTERVALS, () -> {
            Map<String, String> status = gtidless.replicaStatus();
            return "No".equals(status.get("Using_Gtid")) && "Yes".equals(status.get("Slave_SQL_Running"))
                && "Yes".equals(status.get("Slave_IO_Running"));
        }, () -> gtidless.replicaStatus().toString());
        LOGGER.info("'{}' replicates by file and position; its gtid_slave_pos is '{}'", gtidless.name(), gtidless.gtidSlavePos());
        ch.qos.logback.classic.Logger dialectLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(MariaDbDialect.class);
        ListAppender<ILoggingEvent> warnings = new ListAppender<>();
        warnings.start();
        dialectLog.addAppender(warnings);
        try {
            RoutingConnectionFactory factory = factory("gtidless", Duration.ofMillis(300));
            Await.until("the warning", FEW_INTERVALS, () -> !warnings.list.isEmpty());
            assertThat(warnings.list).extracting(ILoggingEvent::getFormattedMessage).singleElement().asString()
                .startsWith("node '" + gtidless.name() + "' replicates by binary log file and position, not GTID (Using_Gtid = No, gtid_slave_pos '")
                .contains("read-your-writes sessions never read on it");

            other.pauseReplay();
            for (int i = 0; i < 5; i++) {
                ConsistencySession session = ConsistencySession.create();
                long id = IDS.incrementAndGet();
                insert(factory, id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
                long applied = id;
                Await.until("'" + gtidless.name() + "' applied the write by file and position", FEW_INTERVALS,
                    () -> "1".equals(gtidless.queryString("SELECT count(*) FROM notes WHERE id = " + applied)));
                assertThat(sessionRead(factory, id, session).block(Duration.ofSeconds(10)))
                    .as("a session read with the GTID replica paused and the other replicating without GTID: the primary")
                    .isEqualTo(new Seen(true, false));
            }
            assertThat(read(factory, IDS.get()).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10)).onReplica())
                .as("plain reads still use the replicas").isTrue();
        } finally {
            dialectLog.detachAppender(warnings);
            other.resumeReplay();
            // back on GTID from where the primary is (nothing is written meanwhile)
            Await.until("'" + gtidless.name() + "' caught up", FEW_INTERVALS,
                () -> String.valueOf(IDS.get()).equals(gtidless.queryString("SELECT COALESCE(MAX(id), 0) FROM notes")));
            gtidless.executeAsAdmin("STOP REPLICA; SET GLOBAL gtid_slave_pos = '" + CLUSTER.primary().gtidBinlogPos()
                + "'; CHANGE MASTER TO MASTER_USE_GTID = slave_pos; START REPLICA");
        }
    }
}
