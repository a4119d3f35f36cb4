package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * PostgreSQL: every SQL string the library sends to a PostgreSQL server, and how it tells that a
 * driver speaks PostgreSQL. Positions are WAL positions in bytes ({@code pg_lsn - '0/0'}).
 */
final class PostgresDialect implements Dialect {

    static final PostgresDialect INSTANCE = new PostgresDialect();

    /**
     * Role, WAL position in bytes (on a primary the insert position: past every commit that has
     * returned, even with {@code synchronous_commit = off}, so that sessions can use it), and
     * replay lag in milliseconds (0 when the replica has replayed all it received, so that an
     * idle primary does not look like lag).
     */
    static final String PROBE = "SELECT pg_is_in_recovery(), "
        + "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END - '0/0'::pg_lsn)::bigint, "
        + "CASE WHEN NOT pg_is_in_recovery() THEN NULL "
        + "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
        + "ELSE (EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())) * 1000)::bigint END";

    /**
     * Who the server is (see {@link ServerIdentity}): its system identifier and its postmaster's
     * start time in microseconds. Both functions are executable by any login role (PostgreSQL
     * 10 and later); neither value can change while a connection lives, so it is read once per
     * probe connection, not on every probe.
     */
    static final String IDENTITY = "SELECT system_identifier, "
        + "(EXTRACT(EPOCH FROM pg_postmaster_start_time()) * 1000000)::bigint FROM pg_control_system()";

    /**
     * The insert position rather than {@code pg_current_wal_lsn()}: with
     * {@code synchronous_commit = off} a commit returns before its record is written, and only
     * the insert position is sure to be past it.
     */
    static final String WRITE_POSITION = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";

    /** A replica's current replay and receive positions, checked on a connection when its last probe is too old. */
    static final String REPLAY_POSITION = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, "
        + "(pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::bigint";

    /** The standard's statement, which PostgreSQL understands: {@link Dialect#enterReadOnly}'s default. */
    static final String READ_ONLY = PlainDialect.READ_ONLY;

    static final String READ_WRITE = PlainDialect.READ_WRITE;

    /** How often a session read looks again at a replica it waits for. */
    private static final Duration CATCH_UP_POLL = Duration.ofMillis(10);

    /** The family's name, for messages and positions. */
    static final String FAMILY = "PostgreSQL";

    private PostgresDialect() {
    }

    /** Whether {@code metadata} is a PostgreSQL driver's (r2dbc-postgresql says {@code PostgreSQL}). */
    static boolean speaks(ConnectionFactoryMetadata metadata) {
        return metadata.getName().toLowerCase(Locale.ROOT).contains("postgres");
    }

    @Override
    public String family() {
        return FAMILY;
    }

    @Override
    public String identityQuery() {
        return IDENTITY;
    }

    @Override
    public Mono<Status> probe(Connection connection, String validationQuery) {
        return Flux.from(connection.createStatement(PROBE).execute())
            .flatMap(result -> result.map((row, metadata) -> {
                Boolean inRecovery = row.get(0, Boolean.class);
                Long lsn = row.get(1, Long.class);
                Long lagMillis = row.get(2, Long.class);
                return new Status(Boolean.TRUE.equals(inRecovery) ? NodeRole.REPLICA : NodeRole.PRIMARY,
                    lsn == null ? -1 : lsn, lagMillis == null ? null : Duration.ofMillis(lagMillis));
            }))
            .last();
    }

    @Override
    public Mono<Void> resetTimeouts(Connection connection, boolean statementTimeout, boolean lockTimeout) {
        String sql = !lockTimeout ? "RESET statement_timeout"
            : !statementTimeout ? "RESET lock_timeout" : "RESET statement_timeout; RESET lock_timeout";
        return Statements.run(connection, sql);
    }

    @Override
    public Mono<Position> writePosition(Connection primary) {
        return Statements.queryLong(primary, WRITE_POSITION).mapNotNull(WalPosition::of);
    }

    /** Looks at the replica's replay every {@link #CATCH_UP_POLL} while {@link ReplayWait} says waiting pays. */
    @Override
    public Mono<Boolean> awaitApplied(Connection replica, Position position, long deadline, Scheduler scheduler) {
        if (!(position instanceof WalPosition wal)) {
            return Mono.error(new IllegalArgumentException("a " + position.family() + " position cannot be awaited on a PostgreSQL replica"));
        }
        return caughtUp(replica, wal.bytes(), deadline, null, scheduler);
    }

    private static Mono<Boolean> caughtUp(Connection replica, long needed, long deadline, ReplayWait.@Nullable Look previous,
                                          Scheduler scheduler) {
        return Flux.from(replica.createStatement(REPLAY_POSITION).execute())
            .flatMap(result -> result.map((row, metadata) -> {
                Long replay = row.get(0, Long.class);
                Long receive = row.get(1, Long.class);
                return new ReplayWait.Look(replay == null ? -1 : replay, receive == null ? -1 : receive, scheduler.now(TimeUnit.NANOSECONDS));
            }))
            .last()
            .flatMap(look -> switch (ReplayWait.next(needed, look, previous, deadline)) {
                case READ_HERE -> Mono.just(true);
                case GIVE_UP -> Mono.just(false);
                case LOOK_AGAIN -> Mono.delay(CATCH_UP_POLL, scheduler).then(caughtUp(replica, needed, deadline, look, scheduler));
            });
    }

    @Override
    public String toString() {
        return family();
    }
}
