package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.function.Function;
import java.util.stream.Stream;

import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.postgresql.PostgresqlConnectionFactoryProvider;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A connection goes back to its pool clean, or not at all. Each node's pool holds one connection,
 * so the next borrower gets the very session the last one left; what another session sees of it
 * (locks, {@code pg_stat_activity}) is checked from the testkit's own connection. The primary's
 * connections start with a 5 s statement timeout and a 3 s lock timeout, set as connection
 * options, so that "restored" means back to what the node's connections start with.
 */
class CleanReleaseIntegrationTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.withReplicas(1);

    private RoutingConnectionFactory factory;

    /** The two routes a write takes: no key, and the fixed view. */
    record Route(String name, Function<RoutingConnectionFactory, Mono<Connection>> acquire) {

        @Override
        public String toString() {
            return this.name;
        }
    }

    static Stream<Route> writeRoutes() {
        return Stream.of(
            new Route("primary (no key)", f -> Mono.from(f.create())),
            new Route("writes()", f -> Mono.<Connection>from(f.writes().create())));
    }

    @BeforeEach
    void build() {
        PostgresNode primary = CLUSTER.primary();
        ConnectionFactory primaryWithTimeouts = ConnectionFactories.get(ConnectionFactoryOptions.builder()
            .from(primary.options())
            .option(PostgresqlConnectionFactoryProvider.STATEMENT_TIMEOUT, Duration.ofSeconds(5))
            .option(PostgresqlConnectionFactoryProvider.LOCK_WAIT_TIMEOUT, Duration.ofSeconds(3))
            .build());
        this.factory = ClusterFixture.closeAfterTest(CLUSTER, RoutingConnectionFactory.builder()
            .name("clean")
            .primary("primary", primaryWithTimeouts)
            .replica("replica-1", CLUSTER.replicas().get(0).connectionFactory())
            .pool(p -> p.maxSize(1))
            .health(h -> h.interval(Duration.ZERO))
            .build());
    }

    @AfterEach
    void checkNothingLeft() {
        assertThat(idleInTransaction()).as("sessions idle in transaction on the primary").isZero();
    }

    private static long idleInTransaction() {
        return Long.parseLong(CLUSTER.primary().queryString("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"));
    }

    private static <T> T with(Mono<Connection> acquire, Function<Connection, Mono<T>> body) {
        return Mono.usingWhen(acquire, body, Connection::close).block(TIMEOUT);
    }

    private static Mono<Void> run(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute()).flatMap(Result::getRowsUpdated).then();
    }

    private static Mono<String> string(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute())
            .flatMap(result -> result.map((row, meta) -> String.valueOf(row.get(0))))
            .single();
    }

    /** A table of its own per test, holding one row. */
    private static String table(String test) {
        String table = "clean_" + test;
        CLUSTER.primary().execute("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (id int PRIMARY KEY); INSERT INTO " + table + " VALUES (1)");
        return table;
    }

    /**
     * Another session drops the table, waiting at most 1 s for its lock: it fails if the released
     * connection still holds a lock on the table.
     */
    private static void dropFromAnotherSession(String table) {
        CLUSTER.primary().execute("SET lock_timeout = '1s'; DROP TABLE " + table);
    }

    /** The next borrower gets the same session, out of any transaction, and works. */
    private void assertNextBorrowerClean(Route route, String pid) {
        String next = with(route.acquire.apply(this.factory), connection -> {
            assertThat(connection.isAutoCommit()).as("auto-commit when lent").isTrue();
            return string(connection, "SELECT pg_backend_pid()::text || ' ' || (now() = statement_timestamp())::text");
        });
        // same backend (the pool holds one connection); now() = statement_timestamp() only outside a transaction block
        assertThat(next).isEqualTo(pid + " true");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writeRoutes")
    void shouldRollBackTransactionThatSetAutoCommitFalseLeftOpen(Route route) {
        String table = table("autocommit_" + route.name.replaceAll("\\W", ""));
        String pid = with(route.acquire.apply(this.factory), connection -> Mono.from(connection.setAutoCommit(false))
            .then(run(connection, "UPDATE " + table + " SET id = 2")) // a row lock and the table's ROW EXCLUSIVE lock
            .then(string(connection, "SELECT pg_backend_pid()::text")));
        assertThat(idleInTransaction()).isZero();
        assertNextBorrowerClean(route, pid);
        assertThat(CLUSTER.primary().queryString("SELECT id FROM " + table)).as("the update was rolled back").isEqualTo("1");
        dropFromAnotherSession(table);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writeRoutes")
    void shouldRollBackTransactionThatCreateSavepointBegan(Route route) {
        String table = table("savepoint_" + route.name.replaceAll("\\W", ""));
        String pid = with(route.acquire.apply(this.factory), connection -> Mono.from(connection.createSavepoint("sp1"))
            .then(run(connection, "INSERT INTO " + table + " VALUES (7)"))
            .then(string(connection, "SELECT pg_backend_pid()::text")));
        assertThat(idleInTransaction()).isZero();
        assertNextBorrowerClean(route, pid);
        assertThat(CLUSTER.primary().queryString("SELECT count(*) FROM " + table)).as("the insert was rolled back").isEqualTo("1");
        dropFromAnotherSession(table);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writeRoutes")
    void shouldRollBackTransactionThatSqlBeginLeftOpenWithLockTaken(Route route) {
        String table = table("begin_" + route.name.replaceAll("\\W", ""));
        String pid = with(route.acquire.apply(this.factory), connection -> run(connection, "BEGIN")
            .then(run(connection, "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE"))
            .then(string(connection, "SELECT pg_backend_pid()::text")));
        assertThat(idleInTransaction()).isZero();
        assertNextBorrowerClean(route, pid);
        dropFromAnotherSession(table);
    }

    @Test
    void shouldRollBackTransactionBegunThroughSpiOnce() {
        String table = table("spi");
        Route route = writeRoutes().findFirst().orElseThrow();
        String pid = with(route.acquire.apply(this.factory), connection -> Mono.from(connection.beginTransaction())
            .then(run(connection, "INSERT INTO " + table + " VALUES (3)"))
            .then(string(connection, "SELECT pg_backend_pid()::text")));
        assertNextBorrowerClean(route, pid);
        assertThat(CLUSTER.primary().queryString("SELECT count(*) FROM " + table)).isEqualTo("1");
        dropFromAnotherSession(table);
    }

    @Test
    void shouldDiscardConnectionWhoseRollbackFails() {
        String table = table("discard");
        String pid = with(Mono.from(this.factory.create()), connection -> Mono.from(connection.beginTransaction())
            .then(run(connection, "INSERT INTO " + table + " VALUES (5)"))
            .then(string(connection, "SELECT pg_backend_pid()::text"))
            // the server ends the session while the transaction is open: the rollback on release fails
            .flatMap(own -> Mono.fromRunnable(() -> CLUSTER.primary().execute("SELECT pg_terminate_backend(" + own + ")"))
                .subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic())
                .thenReturn(own)));
        String next = with(Mono.from(this.factory.create()), connection -> string(connection, "SELECT pg_backend_pid()::text"));
        assertThat(next).as("the next borrower gets a new session").isNotEqualTo(pid);
        assertThat(CLUSTER.primary().queryString("SELECT count(*) FROM " + table)).isEqualTo("1");
        dropFromAnotherSession(table);
    }

    @Test
    void shouldRestoreSessionStateChangedThroughSpi() {
        String start = "read committed 5s 3s";
        String settings = "SELECT current_setting('transaction_isolation') || ' ' || current_setting('statement_timeout') || ' ' "
            + "|| current_setting('lock_timeout')";
        String changed = with(Mono.from(this.factory.create()), connection -> string(connection, settings)
            .doOnNext(before -> assertThat(before).as("what the node's connections start with").isEqualTo(start))
            .then(Mono.from(connection.setTransactionIsolationLevel(IsolationLevel.SERIALIZABLE)))
            .then(Mono.from(connection.setStatementTimeout(Duration.ofSeconds(7))))
            .then(Mono.from(connection.setLockWaitTimeout(Duration.ofSeconds(1))))
            .then(Mono.from(connection.setAutoCommit(false)))
            .then(string(connection, settings)));
        assertThat(changed).isEqualTo("serializable 7s 1s");

        with(Mono.from(this.factory.create()), connection -> {
            assertThat(connection.isAutoCommit()).isTrue();
            assertThat(connection.getTransactionIsolationLevel()).isEqualTo(IsolationLevel.READ_COMMITTED);
            return string(connection, settings).doOnNext(after -> assertThat(after).isEqualTo(start));
        });
    }

    @Test
    void shouldRestoreReadWriteAfterReadOnlyFallbackLeftTransactionOpen() {
        RoutingConnectionFactory primaryOnly = RoutingConnectionFactory.builder()
            .name("clean-fallback")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .pool(p -> p.maxSize(1))
            .health(h -> h.interval(Duration.ZERO))
            .build();
        try {
            String pid = with(Mono.from(primaryOnly.create()).contextWrite(Routing.readOnly()), connection -> Mono.from(connection.beginTransaction())
                .then(Mono.from(connection.setTransactionIsolationLevel(IsolationLevel.REPEATABLE_READ)))
                .then(string(connection, "SELECT pg_backend_pid()::text")));
            String next = with(Mono.from(primaryOnly.create()), connection -> string(connection,
                "SELECT pg_backend_pid()::text || ' ' || current_setting('transaction_read_only') || ' ' || current_setting('transaction_isolation')"));
            assertThat(next).isEqualTo(pid + " off read committed");
        } finally {
            primaryOnly.close().block(TIMEOUT);
        }
    }
}
