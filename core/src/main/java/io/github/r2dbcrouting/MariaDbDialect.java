package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.Readable;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * MariaDB (r2dbc-mariadb against a MariaDB server, GTID replication): every SQL string the library
 * sends to a MariaDB server. One instance per node, because what it learns on the node's first
 * probe (the server is MySQL, or the probe's user may not read the replication status) changes how
 * it probes that node for good and is said once, at start-up, naming the node.
 *
 * <p><b>Role</b>: a node that has a replication connection ({@code SHOW REPLICA STATUS} returns a
 * row) or is {@code read_only} is a replica; one that has neither is the primary.
 * <b>Lag</b> is time only, {@code Seconds_Behind_Master}; while replication does not run (the SQL
 * thread is stopped, or a read-only node has no replication at all) MariaDB reports {@code NULL},
 * and the probe reports {@link Dialect#NOT_REPLICATING}, which is past any {@code maxLagTime}. A
 * replica that cannot reach its primary (its IO thread reconnecting, {@code Seconds_Behind_Master}
 * {@code NULL} too) but whose SQL thread runs and has applied all it received reports lag 0, as
 * PostgreSQL reports a standby that replayed all it received: it is as fresh as anything still
 * reachable, so a dead primary does not take every replica out with it. {@code maxLagBytes} does not apply: MariaDB positions are GTID
 * lists, one sequence number per replication domain, not a byte offset two servers share, so
 * byte positions are reported unknown ({@code -1}).
 *
 * <p><b>Positions for read-your-writes</b> ({@link GtidPosition}), read by the probe's first query
 * at no extra round trip: a primary's {@code @@gtid_binlog_pos} (past every commit that has
 * returned: a commit is in the binary log before it returns), a replica's {@code @@gtid_slave_pos}
 * (what its SQL thread applied). r2dbc-mariadb does not expose {@code @@last_gtid} (it parses the
 * session-tracking part of an OK packet only for the isolation level, the schema and the
 * character set), so a session's writes are not read per write: like PostgreSQL's, they are
 * covered by the primary's position read after their release, from its probe or one shared
 * {@code SELECT @@gtid_binlog_pos} ({@link WalPositions}). A session read waits for a replica with
 * {@code MASTER_GTID_WAIT(position, seconds)} bounded by what is left of {@code sessionWait}: one
 * round trip, which the server answers as soon as the replica applied the position; a replica
 * whose SQL thread is stopped or whose applier stands still is given up on two looks at its status
 * later ({@link GtidWait}), as PostgreSQL's replay wait gives up on a stalled standby. A replica that
 * replicates by binary log file and position ({@code Using_Gtid = No}) gets one warning naming it
 * and is never trusted by session reads: its {@code gtid_slave_pos} is not what it replicates by.
 * The probe's variables need no privilege; {@code MASTER_GTID_WAIT} needs none either.
 *
 * <p><b>Privileges</b>: {@code SHOW REPLICA STATUS} needs {@code SLAVE MONITOR} (alias
 * {@code REPLICA MONITOR}, MariaDB 10.5.9 and later) or {@code SUPER}. A probe user without it gets
 * one warning naming the node and the grant, and the node is then probed by the validation query
 * only (role and lag unknown, as for a database no dialect recognises), never trusted on a guess.
 *
 * <p><b>Who the server is</b> ({@link ServerIdentity}): its {@code @@server_id}, which replication
 * needs unique among the servers of one topology, and when it started, to the second
 * ({@code UNIX_TIMESTAMP()} less the {@code Uptime} status, both taken at the statement's start,
 * so the difference does not move), which tells a restarted server from what it was before. Read
 * once per probe connection, as on PostgreSQL; no privilege needed.
 */
final class MariaDbDialect implements Dialect {

    private static final Logger LOGGER = Loggers.getLogger(MariaDbDialect.class);

    /** What the driver's metadata and the server's product name say for MariaDB (r2dbc-mariadb says {@code MySQL} for a MySQL server). */
    static final String PRODUCT = "MariaDB";

    /** Whether the server is read-only, and its positions: applied by replication, and written to its binary log. */
    static final String VARIABLES = "SELECT @@read_only, @@gtid_slave_pos, @@gtid_binlog_pos";

    /** A primary's position for sessions: past every commit that has returned. */
    static final String WRITE_POSITION = "SELECT @@gtid_binlog_pos";

    /** The default replication connection's status: no row on a server that does not replicate. */
    static final String REPLICA_STATUS = "SHOW REPLICA STATUS";

    /**
     * Rows written, updated and deleted by every thread of the server so far: the replica's applier
     * moves it row by row, also inside a transaction whose position moves only at its commit. No privilege.
     */
    static final String ROWS_CHANGED = "SELECT CAST(SUM(VARIABLE_VALUE) AS SIGNED) FROM information_schema.GLOBAL_STATUS "
        + "WHERE VARIABLE_NAME IN ('HANDLER_WRITE', 'HANDLER_UPDATE', 'HANDLER_DELETE')";

    /** MariaDB's session statement; it does not understand the standard's {@code SET SESSION CHARACTERISTICS}. */
    static final String READ_ONLY = "SET SESSION TRANSACTION READ ONLY";

    static final String READ_WRITE = "SET SESSION TRANSACTION READ WRITE";

    /** What r2dbc-mariadb's {@code setStatementTimeout} changes, back to the server's value. */
    static final String RESET_STATEMENT_TIMEOUT = "SET SESSION max_statement_time = DEFAULT";

    /** What r2dbc-mariadb's {@code setLockWaitTimeout} changes, back to the server's value. */
    static final String RESET_LOCK_TIMEOUT = "SET SESSION innodb_lock_wait_timeout = DEFAULT";

    /** Who the server is: its {@code server_id} and its start (whole seconds) in microseconds since the epoch. */
    static final String IDENTITY = "SELECT @@server_id, CAST((UNIX_TIMESTAMP() - CAST(VARIABLE_VALUE AS UNSIGNED)) * 1000000 AS SIGNED) "
        + "FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'";

    /** The grant {@link #REPLICA_STATUS} needs, for the start-up message. */
    static final String GRANT = "GRANT SLAVE MONITOR ON *.* TO <probe user>";

    /** MariaDB's {@code ER_SPECIFIC_ACCESS_DENIED_ERROR}: "you need (at least one of) the ... privilege(s)". */
    private static final int ACCESS_DENIED = 1227;

    private final String node;

    /** Set once the node's server turned out not to be MariaDB, or its probe user may not read the replication status. */
    private final AtomicBoolean plain = new AtomicBoolean();

    /**
     * Set while the node's last probe saw it replicate by binary log file and position: session
     * reads do not trust it, not even by waiting on it.
     */
    private final AtomicBoolean withoutGtid = new AtomicBoolean();

    /**
     * Set while the node's last probe saw its replication stopped ({@code Seconds_Behind_Master}
     * {@code NULL}: SQL thread stopped, primary unreachable): a session read then only checks
     * whether it has applied the position, instead of waiting out {@code sessionWait} for a
     * replica that is not applying anything.
     */
    private final AtomicBoolean stopped = new AtomicBoolean();

    MariaDbDialect(String node) {
        this.node = node;
    }

    /** Whether {@code metadata} is r2dbc-mariadb's (which also serves MySQL servers: the probe checks the server's product). */
    static boolean speaks(ConnectionFactoryMetadata metadata) {
        return metadata.getName().toLowerCase(Locale.ROOT).contains("mariadb");
    }

    @Override
    public String family() {
        return PRODUCT;
    }

    @Override
    public String identityQuery() {
        return IDENTITY;
    }

    /**
     * Role and lag from {@code @@read_only} and {@code SHOW REPLICA STATUS}; the validation query
     * only when the server is not MariaDB or the probe's user may not read the replication status.
     */
    @Override
    public Mono<Status> probe(Connection connection, String validationQuery) {
        if (this.plain.get()) {
            return PlainDialect.INSTANCE.probe(connection, validationQuery);
        }
        String product = connection.getMetadata().getDatabaseProductName();
        if (!PRODUCT.equals(product)) {
            if (this.plain.compareAndSet(false, true)) {
                LOGGER.warn("node '{}' is a {} server, not MariaDB: its role and lag are not read, it is checked with the validation query only",
                    this.node, product);
            }
            return PlainDialect.INSTANCE.probe(connection, validationQuery);
        }
        return variables(connection)
            .flatMap(variables -> Flux.from(connection.createStatement(REPLICA_STATUS).execute())
                .flatMap(result -> result.map(Replication::of))
                .collectList()
                .map(rows -> status(variables, rows)))
            .onErrorResume(MariaDbDialect::lacksPrivilege, error -> {
                if (this.plain.compareAndSet(false, true)) {
                    LOGGER.warn("node '{}': the probe's user may not read the replication status ({}); run {} "
                            + "(or SUPER) for its role and lag to be known; until then it is checked with the validation query only",
                        this.node, Cluster.describe(error), GRANT);
                }
                return PlainDialect.INSTANCE.probe(connection, validationQuery);
            });
    }

    private static Mono<Variables> variables(Connection connection) {
        return Flux.from(connection.createStatement(VARIABLES).execute())
            .flatMap(result -> result.map(row -> {
                Object value = row.get(0);
                boolean readOnly = value instanceof Number && ((Number) value).longValue() != 0 || Boolean.TRUE.equals(value);
                return new Variables(readOnly, text(row, 1), text(row, 2));
            }))
            .last();
    }

    private static String text(Readable row, int column) {
        Object value = row.get(column);
        return value == null ? "" : value.toString();
    }

    /** What the probe's first query read. */
    record Variables(boolean readOnly, String slavePos, String binlogPos) {
    }

    /**
     * A replica-status row: {@code Seconds_Behind_Master} ({@link Optional#empty()} when
     * {@code NULL}), {@code Using_Gtid} ({@code No}, {@code Slave_Pos} or {@code Current_Pos}), and
     * whether the SQL thread runs and has applied all the IO thread received (its executed position
     * in the primary's binary log is the received one); whether the SQL thread runs; that executed
     * position ({@code file:position}).
     */
    record Replication(Optional<Duration> secondsBehind, String usingGtid, boolean appliedAllReceived, boolean sqlRunning, String executed) {

        static Replication of(Readable row) {
            Object seconds = row.get("Seconds_Behind_Master");
            Object gtid = row.get("Using_Gtid");
            boolean running = "Yes".equalsIgnoreCase(text(row, "Slave_SQL_Running"));
            String executed = text(row, "Relay_Master_Log_File") + ":" + text(row, "Exec_Master_Log_Pos");
            boolean applied = running && executed.equals(text(row, "Master_Log_File") + ":" + text(row, "Read_Master_Log_Pos"));
            return new Replication(seconds instanceof Number ? Optional.of(Duration.ofSeconds(((Number) seconds).longValue())) : Optional.empty(),
                gtid == null ? "" : gtid.toString(), applied, running, executed);
        }

        private static String text(Readable row, String column) {
            Object value = row.get(column);
            return value == null ? "" : value.toString();
        }

        /**
         * {@code Seconds_Behind_Master}; when it is {@code NULL} but the SQL thread runs and has
         * applied all it received (the IO thread cannot reach the primary), 0; else {@code null}.
         */
        @Nullable Duration lag() {
            return this.secondsBehind.orElse(this.appliedAllReceived ? Duration.ZERO : null);
        }

        boolean byFileAndPosition() {
            return "No".equalsIgnoreCase(this.usingGtid);
        }
    }

    /**
     * The role, lag and session position from the probe's answers; a replica replicating by file
     * and position gets no position (and one warning, when it starts to).
     */
    private Status status(Variables variables, List<Replication> rows) {
        Replication replication = rows.isEmpty() ? null : rows.get(0);
        Status status = status(variables.readOnly(), replication != null, replication == null ? null : replication.lag());
        boolean primary = status.role() == NodeRole.PRIMARY;
        this.stopped.set(!primary && Dialect.notReplicating(status.lag()));
        if (!primary && replication != null && replication.byFileAndPosition()) {
            if (this.withoutGtid.compareAndSet(false, true)) {
                LOGGER.warn("node '{}' replicates by binary log file and position, not GTID (Using_Gtid = No, gtid_slave_pos '{}'): "
                        + "read-your-writes sessions never read on it (they go to the primary); run CHANGE MASTER TO MASTER_USE_GTID = slave_pos on it "
                        + "for them to", this.node, variables.slavePos());
            }
            return status;
        }
        this.withoutGtid.set(false);
        String list = primary ? variables.binlogPos() : variables.slavePos();
        try {
            GtidPosition at = GtidPosition.parse(list);
            // a primary with an empty binary log position has binlogged nothing: a session's write
            // there is not replicated (binlog off, sql_log_bin=0), so no position may vouch for it
            return primary && at.isEmpty() ? status : new Status(status.role(), -1, status.lag(), at);
        } catch (IllegalArgumentException error) {
            LOGGER.debug("node '{}': unreadable GTID list '{}': {}", this.node, list, error.getMessage());
            return status;
        }
    }

    /**
     * The role and lag from {@code @@read_only} and the replica-status row: {@code replicates}
     * whether there is one, {@code secondsBehind} its lag ({@code null}: {@code NULL}, not
     * replicating). No session position.
     */
    static Status status(boolean readOnly, boolean replicates, @Nullable Duration secondsBehind) {
        if (!replicates) {
            return readOnly ? new Status(NodeRole.REPLICA, -1, NOT_REPLICATING) : new Status(NodeRole.PRIMARY, -1, null);
        }
        return new Status(NodeRole.REPLICA, -1, secondsBehind == null ? NOT_REPLICATING : secondsBehind);
    }

    private static boolean lacksPrivilege(Throwable error) {
        return error instanceof R2dbcPermissionDeniedException
            || error instanceof R2dbcException && ((R2dbcException) error).getErrorCode() == ACCESS_DENIED;
    }

    @Override
    public Mono<Void> enterReadOnly(Connection connection) {
        return Statements.run(connection, READ_ONLY);
    }

    @Override
    public Mono<Void> leaveReadOnly(Connection connection) {
        return Statements.run(connection, READ_WRITE);
    }

    @Override
    public Mono<Void> resetTimeouts(Connection connection, boolean statementTimeout, boolean lockTimeout) {
        Mono<Void> statement = statementTimeout ? Statements.run(connection, RESET_STATEMENT_TIMEOUT) : Mono.empty();
        return lockTimeout ? statement.then(Statements.run(connection, RESET_LOCK_TIMEOUT)) : statement;
    }

    /**
     * {@code @@gtid_binlog_pos}: one round trip. Empty when the binary log holds nothing (binlog
     * off): a write that is not binlogged is not replicated, and the session read goes to the primary.
     */
    @Override
    public Mono<Position> writePosition(Connection primary) {
        return Flux.from(primary.createStatement(WRITE_POSITION).execute())
            .flatMap(result -> result.map(row -> text(row, 0)))
            .last("")
            .map(GtidPosition::parse)
            .filter(position -> !position.isEmpty())
            .cast(Position.class);
    }

    /**
     * {@code MASTER_GTID_WAIT(position, seconds)} until {@code deadline}, in slices paced by
     * {@link GtidWait}: one round trip when the replica has applied the position, given up on two
     * looks after its SQL thread stops or its applier stands still. Without waiting when the last probe saw
     * replication stopped; never on a node replicating by file and position, or probed by the
     * validation query only.
     */
    @Override
    public Mono<Boolean> awaitApplied(Connection replica, Position position, long deadline, Scheduler scheduler) {
        if (!(position instanceof GtidPosition gtid)) {
            return Mono.error(new IllegalArgumentException("a " + position.family() + " position cannot be awaited on a MariaDB replica"));
        }
        if (this.withoutGtid.get() || this.plain.get()) {
            return Mono.just(false);
        }
        if (gtid.isEmpty()) {
            return Mono.just(true);
        }
        return GtidWait.await(replica, gtid, this.stopped.get() ? scheduler.now(TimeUnit.NANOSECONDS) : deadline, scheduler);
    }

    /** The wait's statement: the list is digits, dashes and commas only (parsed), so it is written in, not bound. */
    static String gtidWait(GtidPosition position, long nanos) {
        long millis = Math.max(0, TimeUnit.NANOSECONDS.toMillis(nanos));
        return "SELECT MASTER_GTID_WAIT('" + position.serverText() + "', " + millis / 1000 + "." + String.format(Locale.ROOT, "%03d", millis % 1000) + ")";
    }

    @Override
    public String toString() {
        return family();
    }
}
