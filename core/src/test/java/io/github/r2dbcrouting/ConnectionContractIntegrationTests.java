package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Stream;

import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.Wrapped;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * One suite of SPI behaviours run through every route a connection can be lent on, against a
 * real primary with a streaming replica: a lent connection behaves as the driver's own does.
 * Read-only routes run the read-only variant of each write behaviour and show that the write
 * fails there. After every test no pooled connection is acquired, no session is idle in a
 * transaction, and closing the factories leaves no server session behind.
 */
class ConnectionContractIntegrationTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(1)
        .schema("CREATE TABLE contract_items (id serial PRIMARY KEY, name text NOT NULL)")
        .build();

    /** Primary and replica; probes off, so that a session read checks the replica on its connection. */
    private RoutingConnectionFactory factory;

    /** The primary alone: reads fall back to it, in read-only mode. */
    private RoutingConnectionFactory primaryOnly;

    /** A way to get a lent connection, and what it may do. */
    record Route(String name, boolean writable, boolean onReplica, Function<ConnectionContractIntegrationTests, Mono<Connection>> acquire) {

        @Override
        public String toString() {
            return this.name;
        }
    }

    static Stream<Route> routes() {
        return Stream.of(
            new Route("primary (no key)", true, false, t -> Mono.from(t.factory.create())),
            new Route("writes()", true, false, t -> Mono.<Connection>from(t.factory.writes().create()).contextWrite(Routing.readOnly())),
            new Route("session write", true, false, t -> Mono.from(t.factory.create()).contextWrite(Routing.session(ConsistencySession.create()))),
            new Route("reads()", false, true, t -> Mono.<Connection>from(t.factory.reads().create())),
            new Route("readOnly()", false, true, t -> Mono.from(t.factory.create()).contextWrite(Routing.readOnly())),
            new Route("read-only fallback on the primary", false, false, t -> Mono.from(t.primaryOnly.create()).contextWrite(Routing.readOnly())),
            new Route("session read", false, true, ConnectionContractIntegrationTests::sessionRead));
    }

    /** A read under a session that wrote: the replica is checked on its own connection before it serves. */
    private Mono<Connection> sessionRead() {
        ConsistencySession session = ConsistencySession.create();
        Mono<Long> write = Db.update(this.factory, "INSERT INTO contract_items (name) VALUES ('session')").contextWrite(Routing.session(session));
        Mono<Connection> read = Mono.from(this.factory.create()).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session));
        return write.then(session.settled()).then(read);
    }

    @BeforeEach
    void build() {
        this.factory = ClusterFixture.closeAfterTest(CLUSTER, RoutingConnectionFactory.builder()
            .name("contract")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica("replica-1", CLUSTER.replicas().get(0).connectionFactory())
            .health(h -> h.interval(Duration.ZERO))
            .build());
        this.primaryOnly = CLUSTER.closeAfterTest(RoutingConnectionFactory.builder()
            .name("contract-fallback")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .health(h -> h.interval(Duration.ZERO))
            .build(), f -> f.close().block(TIMEOUT));
    }

    @AfterEach
    void checkNothingLeft() {
        for (RoutingConnectionFactory f : List.of(this.factory, this.primaryOnly)) {
            for (NodeSnapshot node : f.nodes()) {
                assertThat(node.acquired()).as("connections acquired on '%s' of '%s'", node.name(), f.name()).isZero();
            }
        }
        CLUSTER.cluster().nodes().forEach(node -> assertThat(node.queryString(
            "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")).as("idle in transaction on %s", node).isEqualTo("0"));
    }

    private <T> T with(Route route, Function<Connection, Mono<T>> body) {
        return Mono.usingWhen(route.acquire.apply(this), body, Connection::close).block(TIMEOUT);
    }

    private static Mono<Long> update(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute()).flatMap(Result::getRowsUpdated).reduce(0L, Long::sum);
    }

    private static Mono<String> string(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute())
            .flatMap(result -> result.map((row, meta) -> String.valueOf(row.get(0))))
            .single();
    }

    private static long count(String name) {
        return Long.parseLong(Objects.requireNonNull(CLUSTER.primary().queryString("SELECT count(*) FROM contract_items WHERE name = '" + name + "'")));
    }

    private static String unique() {
        return UUID.randomUUID().toString();
    }

    /** A write on a read-only route fails with the server's read-only error, whatever ran before. */
    private static Mono<Throwable> failingWrite(Mono<?> write) {
        return write.then(Mono.<Throwable>error(new AssertionError("a write on a read-only route succeeded")))
            .onErrorResume(R2dbcException.class, Mono::just);
    }

    private static void assertReadOnlyError(Throwable error) {
        assertThat(error).isInstanceOf(R2dbcException.class).hasMessageContaining("read-only transaction");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldCommitAndRollBackTransactions(Route route) {
        String rolledBack = unique();
        String committed = unique();
        with(route, connection -> Mono.from(connection.beginTransaction())
            .then(Mono.fromRunnable(() -> assertThat(connection.isAutoCommit()).as("auto-commit inside a transaction").isFalse()))
            .then(route.writable
                ? update(connection, "INSERT INTO contract_items (name) VALUES ('" + rolledBack + "')").then()
                : failingWrite(update(connection, "INSERT INTO contract_items (name) VALUES ('" + rolledBack + "')"))
                    .doOnNext(ConnectionContractIntegrationTests::assertReadOnlyError).then())
            .then(Mono.from(connection.rollbackTransaction()))
            .then(Mono.fromRunnable(() -> assertThat(connection.isAutoCommit()).as("auto-commit after the rollback").isTrue()))
            .then(Mono.from(connection.beginTransaction()))
            .then(route.writable
                ? update(connection, "INSERT INTO contract_items (name) VALUES ('" + committed + "')").then()
                : string(connection, "SELECT count(*) FROM contract_items").then())
            .then(Mono.from(connection.commitTransaction()))
            .thenReturn(true));
        assertThat(count(rolledBack)).isZero();
        if (route.writable) {
            assertThat(count(committed)).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldRollBackToSavepoint(Route route) {
        String kept = unique();
        String undone = unique();
        with(route, connection -> Mono.from(connection.beginTransaction())
            .then(route.writable ? update(connection, "INSERT INTO contract_items (name) VALUES ('" + kept + "')").then() : Mono.<Void>empty())
            .then(Mono.from(connection.createSavepoint("sp1")))
            .then(route.writable
                ? update(connection, "INSERT INTO contract_items (name) VALUES ('" + undone + "')").then()
                : failingWrite(update(connection, "INSERT INTO contract_items (name) VALUES ('" + undone + "')"))
                    .doOnNext(ConnectionContractIntegrationTests::assertReadOnlyError).then())
            .then(Mono.from(connection.rollbackTransactionToSavepoint("sp1")))
            // the transaction is usable again after the rollback to the savepoint
            .then(string(connection, "SELECT 41 + 1"))
            .doOnNext(answer -> assertThat(answer).isEqualTo("42"))
            .then(Mono.from(connection.releaseSavepoint("sp1")))
            .then(Mono.from(connection.commitTransaction()))
            .thenReturn(true));
        assertThat(count(undone)).isZero();
        if (route.writable) {
            assertThat(count(kept)).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldHonourAutoCommit(Route route) {
        String name = unique();
        with(route, connection -> {
            assertThat(connection.isAutoCommit()).as("auto-commit when lent").isTrue();
            return Mono.from(connection.setAutoCommit(false))
                .then(Mono.fromRunnable(() -> assertThat(connection.isAutoCommit()).isFalse()))
                .then(route.writable
                    ? update(connection, "INSERT INTO contract_items (name) VALUES ('" + name + "')").then()
                    : string(connection, "SELECT 1").then())
                .then(Mono.fromRunnable(() -> {
                    if (route.writable) {
                        assertThat(count(name)).as("not committed before auto-commit is back on").isZero();
                    }
                }).subscribeOn(Schedulers.boundedElastic()))
                .then(Mono.from(connection.setAutoCommit(true)))
                .then(Mono.fromRunnable(() -> assertThat(connection.isAutoCommit()).isTrue()))
                .thenReturn(true);
        });
        if (route.writable) {
            assertThat(count(name)).as("committed when auto-commit is back on").isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldSetIsolationLevel(Route route) {
        with(route, connection -> {
            assertThat(connection.getTransactionIsolationLevel()).isEqualTo(IsolationLevel.READ_COMMITTED);
            return Mono.from(connection.setTransactionIsolationLevel(IsolationLevel.REPEATABLE_READ))
                .then(Mono.fromRunnable(() -> assertThat(connection.getTransactionIsolationLevel()).isEqualTo(IsolationLevel.REPEATABLE_READ)))
                .then(string(connection, "SHOW transaction_isolation"))
                .doOnNext(level -> assertThat(level).isEqualTo("repeatable read"))
                .then(Mono.from(connection.setTransactionIsolationLevel(IsolationLevel.READ_COMMITTED)))
                .then(Mono.from(connection.beginTransaction(IsolationLevel.REPEATABLE_READ)))
                .then(string(connection, "SHOW transaction_isolation"))
                .doOnNext(level -> assertThat(level).isEqualTo("repeatable read"))
                .then(Mono.from(connection.commitTransaction()))
                .then(string(connection, "SHOW transaction_isolation"))
                .doOnNext(level -> assertThat(level).isEqualTo("read committed"))
                .thenReturn(true);
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldRunBatches(Route route) {
        String name = unique();
        String insert = "INSERT INTO contract_items (name) VALUES ('" + name + "')";
        with(route, connection -> {
            if (route.writable) {
                return Flux.from(connection.createBatch().add(insert).add(insert).execute())
                    .flatMap(Result::getRowsUpdated)
                    .reduce(0L, Long::sum)
                    .doOnNext(updated -> assertThat(updated).isEqualTo(2));
            }
            return Flux.from(connection.createBatch().add("SELECT 1").add("SELECT 2").execute())
                .concatMap(result -> result.map((row, meta) -> row.get(0, Integer.class)))
                .collectList()
                .doOnNext(values -> assertThat(values).containsExactly(1, 2))
                .then(failingWrite(Flux.from(connection.createBatch().add("SELECT 1").add(insert).execute()).flatMap(Result::getRowsUpdated).then()))
                .doOnNext(ConnectionContractIntegrationTests::assertReadOnlyError)
                .thenReturn(0L);
        });
        assertThat(count(name)).isEqualTo(route.writable ? 2 : 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldReturnGeneratedKeys(Route route) {
        String name = unique();
        Integer id = with(route, connection -> {
            Mono<Integer> generated = Flux.from(connection.createStatement("INSERT INTO contract_items (name) VALUES ($1)")
                    .bind("$1", name)
                    .returnGeneratedValues("id")
                    .execute())
                .flatMap(result -> result.map((row, meta) -> row.get("id", Integer.class)))
                .single();
            if (route.writable) {
                return generated;
            }
            return failingWrite(generated).doOnNext(ConnectionContractIntegrationTests::assertReadOnlyError).thenReturn(-1);
        });
        if (route.writable) {
            assertThat(id).isPositive();
            assertThat(CLUSTER.primary().queryString("SELECT name FROM contract_items WHERE id = " + id)).isEqualTo(name);
        } else {
            assertThat(count(name)).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldDescribeItselfAndItsServer(Route route) {
        with(route, connection -> {
            assertThat(connection.getMetadata().getDatabaseProductName()).isEqualTo("PostgreSQL");
            assertThat(connection.getMetadata().getDatabaseVersion()).isNotBlank();
            assertThat(connection).isInstanceOf(Wrapped.class);
            assertThat(((Wrapped<?>) connection).unwrap()).isInstanceOf(Connection.class);
            // the driver's own connection, with its extensions, is one unwrap(Class) away
            assertThat(((Wrapped<?>) connection).unwrap(io.r2dbc.postgresql.api.PostgresqlConnection.class)).isNotNull();
            return string(connection, "SELECT pg_is_in_recovery()::text || ' ' || current_setting('transaction_read_only')")
                .doOnNext(described -> assertThat(described).isEqualTo(route.onReplica + " " + (route.writable ? "off" : "on")));
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void shouldBeDeadToItsHolderOnceReleased(Route route) {
        Connection connection = route.acquire.apply(this).block(TIMEOUT);
        assertThat(Mono.from(connection.validate(ValidationDepth.LOCAL)).block(TIMEOUT)).isTrue();
        assertThat(Mono.from(connection.validate(ValidationDepth.REMOTE)).block(TIMEOUT)).isTrue();
        Mono.from(connection.close()).block(TIMEOUT);

        assertThat(Mono.from(connection.validate(ValidationDepth.LOCAL)).block(TIMEOUT)).isFalse();
        assertThat(Mono.from(connection.validate(ValidationDepth.REMOTE)).block(TIMEOUT)).isFalse();
        String released = "connection already released to RoutingConnectionFactory '"
            + (route.name.contains("fallback") ? "contract-fallback" : "contract") + "'";
        List<Runnable> calls = List.of(
            () -> connection.createStatement("SELECT 1"),
            connection::createBatch,
            connection::beginTransaction,
            connection::commitTransaction,
            connection::rollbackTransaction,
            () -> connection.setAutoCommit(false),
            () -> connection.setTransactionIsolationLevel(IsolationLevel.SERIALIZABLE),
            () -> connection.setStatementTimeout(Duration.ofSeconds(1)),
            () -> connection.setLockWaitTimeout(Duration.ofSeconds(1)),
            () -> connection.createSavepoint("sp"),
            () -> connection.releaseSavepoint("sp"),
            () -> connection.rollbackTransactionToSavepoint("sp"),
            connection::isAutoCommit,
            connection::getMetadata,
            connection::getTransactionIsolationLevel,
            () -> ((Wrapped<?>) connection).unwrap());
        for (Runnable call : calls) {
            assertThatThrownBy(call::run).isInstanceOf(IllegalStateException.class).hasMessageContaining(released);
        }
        // a second close does nothing
        Mono.from(connection.close()).block(TIMEOUT);
        assertThat(connection.toString()).contains("released");
    }
}
