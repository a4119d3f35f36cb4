package io.github.r2dbcrouting;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.r2dbcrouting.testkit.Await;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.pool.InstrumentedPool.PoolMetrics;
import reactor.test.StepVerifier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A route that works on an acquired connection before handing it over (the read-only fallback's
 * {@code SET SESSION CHARACTERISTICS}) gives it back to its pool when the caller leaves meanwhile:
 * a real node pool over stub connections whose statements answer only when told to, so the cancel
 * lands deterministically while the statement runs.
 */
class HandoverTests {

    private static final Duration WAIT = Duration.ofSeconds(5);

    /** One per statement executed, completed (or not) by the test. */
    private final List<Sinks.Empty<Void>> statements = new ArrayList<>();

    private final List<String> sql = Collections.synchronizedList(new ArrayList<>());

    private final AtomicInteger physicalCloses = new AtomicInteger();

    private final Scheduler timer = Schedulers.newSingle("handover-tests");

    private final NodePool pool = new NodePool("handover-tests", PoolSettings.builder().maxSize(2).build(), new Stubs(),
        new NodeActivity(System::nanoTime));

    private final PoolMetrics metrics = this.pool.metrics;

    private final Lender lender = new Lender("handover-tests", "primary", PostgresDialect.INSTANCE, new ReadOnlyFallback(PostgresDialect.INSTANCE),
        Duration.ofSeconds(5), Schedulers.parallel());

    @AfterEach
    void tearDown() {
        this.pool.disposeLater().block(WAIT);
        this.timer.dispose();
    }

    private Mono<Connection> readOnly() {
        return ReadOnlyFallback.acquire(new Acquisition(this.pool.acquire, "primary", Duration.ofSeconds(2), Duration.ofSeconds(3), this.timer,
            null), this.lender);
    }

    private synchronized int executed() {
        return this.statements.size();
    }

    private synchronized Sinks.Empty<Void> statement(int index) {
        return this.statements.get(index);
    }

    @Test
    void shouldReturnTheConnectionToItsPoolWhenTheCallerLeavesWhileTheSessionIsMadeReadOnly() {
        Disposable caller = readOnly().subscribe();
        Await.until("the read-only statement running", WAIT, () -> executed() == 1);
        assertThat(this.sql).containsExactly(PostgresDialect.READ_ONLY);
        assertThat(this.metrics.acquiredSize()).isEqualTo(1);

        caller.dispose(); // the caller's timeout fires while SET SESSION CHARACTERISTICS runs

        // the session may still turn read-only: it is made read-write again before it goes back
        Await.until("the read-write statement running", WAIT, () -> executed() == 2, () -> "acquired=" + this.metrics.acquiredSize()
            + ", statements " + this.sql);
        assertThat(this.sql).containsExactly(PostgresDialect.READ_ONLY, PostgresDialect.READ_WRITE);
        statement(1).tryEmitEmpty();
        Await.until("the connection back in its pool", WAIT, () -> this.metrics.acquiredSize() == 0,
            () -> "acquired=" + this.metrics.acquiredSize());
        assertThat(this.metrics.idleSize()).isEqualTo(1);
        assertThat(this.physicalCloses).hasValue(0);
    }

    @Test
    void shouldLendTheConnectionReadOnlyAndReturnItReadWrite() {
        Mono<Connection> readOnly = readOnly();
        StepVerifier.create(readOnly.flatMap(connection -> Mono.from(connection.close())))
            .then(() -> {
                Await.until("the read-only statement running", WAIT, () -> executed() == 1);
                statement(0).tryEmitEmpty();
                Await.until("the read-write statement running", WAIT, () -> executed() == 2);
                statement(1).tryEmitEmpty();
            })
            .verifyComplete();
        assertThat(this.sql).containsExactly(PostgresDialect.READ_ONLY, PostgresDialect.READ_WRITE);
        assertThat(this.metrics.acquiredSize()).isZero();
        assertThat(this.physicalCloses).hasValue(0);
    }

    @Test
    void shouldReturnTheConnectionWhenTheSessionCannotBeMadeReadOnly() {
        StepVerifier.create(readOnly())
            .then(() -> {
                Await.until("the read-only statement running", WAIT, () -> executed() == 1);
                statement(0).tryEmitError(new R2dbcNonTransientResourceException("connection reset"));
            })
            .verifyErrorMessage("connection reset");
        assertThat(this.metrics.acquiredSize()).isZero();
    }

    /** Connections whose statements complete when the test says so. */
    private final class Stubs implements ConnectionFactory {

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.fromSupplier(this::connection);
        }

        private Connection connection() {
            return (Connection) Proxy.newProxyInstance(HandoverTests.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "createStatement" -> statement((String) args[0]);
                    case "validate" -> Mono.just(true);
                    case "isAutoCommit" -> true;
                    case "getTransactionIsolationLevel" -> IsolationLevel.READ_COMMITTED;
                    case "close" -> Mono.fromRunnable(HandoverTests.this.physicalCloses::incrementAndGet);
                    case "toString" -> "stub connection";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        }

        private Statement statement(String sql) {
            return (Statement) Proxy.newProxyInstance(HandoverTests.class.getClassLoader(), new Class<?>[] {Statement.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("execute")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    Sinks.Empty<Void> done = Sinks.empty();
                    synchronized (HandoverTests.this) {
                        HandoverTests.this.sql.add(sql);
                        HandoverTests.this.statements.add(done);
                    }
                    return done.asMono().then(Mono.empty());
                });
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "Stub";
        }
    }
}
