package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Optional;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Everything specific to one database family: the probe that reads a node's role, position and
 * lag, who the server is, the read-only session of the fallback, the position a session's writes
 * reached and the wait for a replica to apply it, and how a changed timeout is restored. One
 * implementation per family ({@link PostgresDialect}, {@link MariaDbDialect}); a node of a family none recognises gets
 * {@link PlainDialect}: a validation query, and nothing trusted beyond it.
 *
 * <p>Two kinds of position: {@link Status#position()} is one number per node ({@code -1} when
 * unknown), a PostgreSQL WAL position in bytes, from which replica lag in bytes is computed;
 * {@link Status#at()} is the family's own {@link Position} (a {@link WalPosition}, or MariaDB's GTID
 * list, one sequence per domain), which read-your-writes sessions record and compare. Every method
 * that reads a position is on this interface, and positions compare themselves, so the router
 * holds no family-specific code.
 */
interface Dialect {

    /**
     * The dialect of the family {@code target}'s driver speaks; {@link PlainDialect} for any other.
     * Decided from the driver's metadata when the node is built; r2dbc-mariadb also serves MySQL
     * servers, so the MariaDB dialect checks each probe connection's product name too, and probes a
     * MySQL server with the validation query only ({@code node} names it in that message).
     */
    static Dialect of(ConnectionFactory target, String node) {
        if (PostgresDialect.speaks(target.getMetadata())) {
            return PostgresDialect.INSTANCE;
        }
        return MariaDbDialect.speaks(target.getMetadata()) ? new MariaDbDialect(node) : PlainDialect.unknown(node, target.getMetadata().getName());
    }

    /**
     * The lag a probe reports for a replica that is not replicating, so that its lag cannot be
     * known (MariaDB's {@code Seconds_Behind_Master} is {@code NULL}): past any {@code maxLagTime}.
     * Compared by identity ({@link #notReplicating}).
     */
    Duration NOT_REPLICATING = Duration.ofDays(365L * 1000);

    /** Whether {@code lag} is {@link #NOT_REPLICATING}. */
    static boolean notReplicating(@Nullable Duration lag) {
        return lag == NOT_REPLICATING;
    }

    /** The family's name, for messages. */
    String family();

    /**
     * The query that says who the server is ({@link ServerIdentity}): one row, the identifier and
     * the start in microseconds since the epoch; {@code null} (the default) when the family cannot
     * tell.
     */
    default @Nullable String identityQuery() {
        return null;
    }

    /**
     * Whether the family's servers say who they are ({@link #identify}): until a node of such a
     * family has, whether it is another server is not known.
     */
    default boolean identifies() {
        return identityQuery() != null;
    }

    /**
     * Who the server behind {@code connection} is; empty when the family cannot tell. An error the
     * server answers with means it would not tell; a broken connection fails the probe.
     */
    default Mono<Optional<ServerIdentity>> identify(Connection connection) {
        String sql = identityQuery();
        return sql == null ? Mono.just(Optional.empty()) : ServerIdentity.query(connection, sql);
    }

    /**
     * One health probe on {@code connection}: the node's role, position (current on a primary,
     * applied on a replica) and a replica's lag in time.
     *
     * @param validationQuery what to run when the family cannot tell more than "it answers"
     */
    Mono<Status> probe(Connection connection, String validationQuery);

    /**
     * Makes the session read-only: a write on it then fails with the database's own error. By
     * default the SQL standard's statement ({@link PlainDialect#READ_ONLY}), which PostgreSQL understands.
     */
    default Mono<Void> enterReadOnly(Connection connection) {
        return Statements.run(connection, PlainDialect.READ_ONLY);
    }

    /** Undoes {@link #enterReadOnly} before the connection goes back to its pool. */
    default Mono<Void> leaveReadOnly(Connection connection) {
        return Statements.run(connection, PlainDialect.READ_WRITE);
    }

    /**
     * Restores the statement and/or lock timeout a holder changed to what the node's connections
     * start with; an error when the family has no way to (the connection is then discarded).
     */
    Mono<Void> resetTimeouts(Connection connection, boolean statementTimeout, boolean lockTimeout);

    /**
     * A position at or past every write that was released on {@code primary}'s node before this
     * is called (read on any of its connections): PostgreSQL's WAL insert position, MariaDB's
     * {@code @@gtid_binlog_pos}. Empty when the node reports none.
     */
    Mono<Position> writePosition(Connection primary);

    /**
     * Whether the replica behind {@code replica} has applied {@code position}, waiting for it at
     * most until {@code deadline} ({@code scheduler}'s nanoseconds) and only while waiting may pay.
     * By default never known: a family that cannot tell sends a session's reads to the primary.
     */
    default Mono<Boolean> awaitApplied(Connection replica, Position position, long deadline, Scheduler scheduler) {
        return Mono.just(false);
    }

    /**
     * Whether a session's {@code position} belongs to this family, so that it may be compared with
     * this family's positions. A family that compares no positions ({@link PlainDialect}: its
     * session reads go to the primary) accepts any.
     */
    default boolean accepts(Position position) {
        return position.family().equals(family());
    }

    /**
     * What one probe saw.
     *
     * @param role     the role the node reports, {@code UNKNOWN} when the family does not tell
     * @param position the node's position in bytes (PostgreSQL's WAL), {@code -1} when unknown or not a byte offset
     * @param lag      a replica's lag in time, {@code null} when unknown
     * @param at       the node's position for sessions (current on a primary, applied on a
     *                 replica), {@code null} when unknown or not to be trusted
     */
    record Status(NodeRole role, long position, @Nullable Duration lag, @Nullable Position at) {

        /** A status whose session position is the byte position, if any. */
        Status(NodeRole role, long position, @Nullable Duration lag) {
            this(role, position, lag, WalPosition.of(position));
        }
    }
}
