package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.Readable;
import io.r2dbc.spi.Result;
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
 * thread is stopped, the replica cannot reach its primary, or a read-only node has no replication
 * at all) MariaDB reports {@code NULL}, and the probe reports {@link Dialect#NOT_REPLICATING}, which
 * is past any {@code maxLagTime}. {@code maxLagBytes} does not apply: MariaDB positions are GTID
 * lists, one sequence number per replication domain, not a byte offset two servers share, so
 * positions are reported unknown ({@code -1}).
 *
 * <p><b>Privileges</b>: {@code SHOW REPLICA STATUS} needs {@code SLAVE MONITOR} (alias
 * {@code REPLICA MONITOR}, MariaDB 10.5.9 and later) or {@code SUPER}. A probe user without it gets
 * one warning naming the node and the grant, and the node is then probed by the validation query
 * only (role and lag unknown, as for a database no dialect recognises), never trusted on a guess.
 *
 * <p>The server does not say who it is in a way the library can compare across probes
 * ({@link #identifies()} is false); read-your-writes sessions are not supported on MariaDB yet
 * (a session read goes to the primary).
 */
final class MariaDbDialect implements Dialect {

    private static final Logger LOGGER = Loggers.getLogger(MariaDbDialect.class);

    /** What the driver's metadata and the server's product name say for MariaDB (r2dbc-mariadb says {@code MySQL} for a MySQL server). */
    static final String PRODUCT = "MariaDB";

    static final String READ_ONLY_VARIABLE = "SELECT @@read_only";

    /** The default replication connection's status: no row on a server that does not replicate. */
    static final String REPLICA_STATUS = "SHOW REPLICA STATUS";

    /** MariaDB's session statement; it does not understand the standard's {@code SET SESSION CHARACTERISTICS}. */
    static final String READ_ONLY = "SET SESSION TRANSACTION READ ONLY";

    static final String READ_WRITE = "SET SESSION TRANSACTION READ WRITE";

    /** What r2dbc-mariadb's {@code setStatementTimeout} changes, back to the server's value. */
    static final String RESET_STATEMENT_TIMEOUT = "SET SESSION max_statement_time = DEFAULT";

    /** What r2dbc-mariadb's {@code setLockWaitTimeout} changes, back to the server's value. */
    static final String RESET_LOCK_TIMEOUT = "SET SESSION innodb_lock_wait_timeout = DEFAULT";

    /** The grant {@link #REPLICA_STATUS} needs, for the start-up message. */
    static final String GRANT = "GRANT SLAVE MONITOR ON *.* TO <probe user>";

    /** MariaDB's {@code ER_SPECIFIC_ACCESS_DENIED_ERROR}: "you need (at least one of) the ... privilege(s)". */
    private static final int ACCESS_DENIED = 1227;

    private final String node;

    /** Set once the node's server turned out not to be MariaDB, or its probe user may not read the replication status. */
    private final AtomicBoolean plain = new AtomicBoolean();

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
        return readOnly(connection)
            .flatMap(readOnly -> Flux.from(connection.createStatement(REPLICA_STATUS).execute())
                .flatMap(result -> result.map(MariaDbDialect::secondsBehind))
                .collectList()
                .map(rows -> status(readOnly, !rows.isEmpty(), rows.isEmpty() ? null : rows.get(0).orElse(null))))
            .onErrorResume(MariaDbDialect::lacksPrivilege, error -> {
                if (this.plain.compareAndSet(false, true)) {
                    LOGGER.warn("node '{}': the probe's user may not read the replication status ({}); run {} "
                            + "(or SUPER) for its role and lag to be known; until then it is checked with the validation query only",
                        this.node, Cluster.describe(error), GRANT);
                }
                return PlainDialect.INSTANCE.probe(connection, validationQuery);
            });
    }

    private static Mono<Boolean> readOnly(Connection connection) {
        return Flux.from(connection.createStatement(READ_ONLY_VARIABLE).execute())
            .flatMap(result -> result.map(row -> {
                Object value = row.get(0);
                return value instanceof Number && ((Number) value).longValue() != 0 || Boolean.TRUE.equals(value);
            }))
            .last(false);
    }

    /** A replica-status row's lag: {@link Optional#empty()} when {@code Seconds_Behind_Master} is {@code NULL}. */
    private static Optional<Duration> secondsBehind(Readable row) {
        Object seconds = row.get("Seconds_Behind_Master");
        return seconds instanceof Number ? Optional.of(Duration.ofSeconds(((Number) seconds).longValue())) : Optional.empty();
    }

    /**
     * The role and lag from {@code @@read_only} and the replica-status row: {@code replicates}
     * whether there is one, {@code secondsBehind} its lag ({@code null}: {@code NULL}, not replicating).
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
        return LentConnection.run(connection, READ_ONLY);
    }

    @Override
    public Mono<Void> leaveReadOnly(Connection connection) {
        return LentConnection.run(connection, READ_WRITE);
    }

    @Override
    public Mono<Void> resetTimeouts(Connection connection, boolean statementTimeout, boolean lockTimeout) {
        Mono<Void> statement = statementTimeout ? LentConnection.run(connection, RESET_STATEMENT_TIMEOUT) : Mono.empty();
        return lockTimeout ? statement.then(LentConnection.run(connection, RESET_LOCK_TIMEOUT)) : statement;
    }

    @Override
    public Mono<Long> writePosition(Connection primary) {
        return Mono.error(new IllegalStateException("read-your-writes sessions are not supported on MariaDB yet (node '" + this.node + "')"));
    }

    /** Never known to have applied a session's writes: a session read goes to the primary. */
    @Override
    public Mono<Boolean> awaitApplied(Connection replica, long position, long deadline, Scheduler scheduler) {
        return Mono.just(false);
    }

    @Override
    public String toString() {
        return family();
    }
}
