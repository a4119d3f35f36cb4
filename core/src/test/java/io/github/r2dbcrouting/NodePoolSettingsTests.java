package io.github.r2dbcrouting;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.github.r2dbcrouting.testkit.Await;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.Lifecycle;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code pool(...)} setting keeps the meaning it had when each node's pool was an r2dbc-pool
 * {@code ConnectionPool}, on a {@link NodePool} over a stub driver whose clock the test moves.
 */
class NodePoolSettingsTests {

    private static final Duration WAIT = Duration.ofSeconds(5);

    /** The pools' clock: moved by the tests, never by time passing. */
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private final AtomicInteger opened = new AtomicInteger();

    private final AtomicInteger closed = new AtomicInteger();

    private final AtomicInteger postAllocate = new AtomicInteger();

    private final AtomicInteger preRelease = new AtomicInteger();

    private final AtomicInteger rollbacks = new AtomicInteger();

    /** Statements run on the stub connections, in order. */
    private final List<String> statements = new ArrayList<>();

    /** How a statement answers: a row by default. */
    private volatile Mono<Object> statementAnswer = Mono.just("1");

    /** Validation results the stub connections give, one per check, then {@code true}. */
    private final List<Boolean> validations = new ArrayList<>();

    private final List<NodePool> pools = new ArrayList<>();

    @AfterEach
    void close() {
        for (NodePool pool : this.pools) {
            pool.disposeLater().block(WAIT);
        }
    }

    private NodePool pool(Consumer<PoolSettings.Builder> settings) {
        return pool(settings, stubs());
    }

    private NodePool pool(Consumer<PoolSettings.Builder> settings, ConnectionFactory target) {
        PoolSettings.Builder builder = PoolSettings.builder();
        settings.accept(builder);
        NodePool pool = new NodePool("settings-tests", builder.build(), target, new NodeActivity(this.now::get));
        this.pools.add(pool);
        return pool;
    }

    private ConnectionFactory stubs() {
        return factory(Mono.fromSupplier(this::connection));
    }

    private static ConnectionFactory factory(Publisher<? extends Connection> create) {
        return new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return create;
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "Stub";
            }
        };
    }

    private synchronized boolean nextValidation() {
        return this.validations.isEmpty() || this.validations.remove(0);
    }

    private synchronized List<String> statements() {
        return new ArrayList<>(this.statements);
    }

    private Connection connection() {
        this.opened.incrementAndGet();
        AtomicInteger open = new AtomicInteger(1);
        return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class, Lifecycle.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "validate" -> Mono.just(open.get() == 1 && nextValidation());
                case "close" -> Mono.fromRunnable(() -> {
                    if (open.getAndSet(0) == 1) {
                        this.closed.incrementAndGet();
                    }
                });
                case "postAllocate" -> Mono.fromRunnable(this.postAllocate::incrementAndGet);
                case "preRelease" -> Mono.fromRunnable(this.preRelease::incrementAndGet);
                case "rollbackTransaction" -> Mono.fromRunnable(this.rollbacks::incrementAndGet);
                case "createStatement" -> statement((String) args[0]);
                case "isAutoCommit" -> true;
                case "toString" -> "stub connection";
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                default -> Mono.empty();
            });
    }

    private Statement statement(String sql) {
        synchronized (this) {
            this.statements.add(sql);
        }
        Mono<Object> answer = this.statementAnswer;
        Result result = (Result) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Result.class},
            (proxy, method, args) -> method.getName().equals("map") ? answer.flux() : Mono.empty());
        return (Statement) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Statement.class},
            (proxy, method, args) -> method.getName().equals("execute") ? Flux.just(result) : proxy);
    }

    private static void release(Connection connection) {
        Mono.from(connection.close()).block(WAIT);
    }

    @Test
    void shouldLendAtMostMaxSizeAndHandAReleasedConnectionToTheNextWaiting() {
        NodePool pool = pool(p -> p.maxSize(2));
        Connection first = pool.acquire.block(WAIT);
        Connection second = pool.acquire.block(WAIT);
        AtomicInteger third = new AtomicInteger();
        pool.acquire.subscribe(connection -> third.incrementAndGet());
        assertThat(pool.metrics.pendingAcquireSize()).as("the third waits").isEqualTo(1);
        assertThat(this.opened).hasValue(2);
        release(first);
        assertThat(third).as("handed the released connection").hasValue(1);
        assertThat(this.opened).hasValue(2);
        release(second);
    }

    @Test
    void shouldOpenInitialSizeConnectionsAtTheFirstAcquisition() {
        NodePool pool = pool(p -> p.initialSize(3).maxSize(5));
        assertThat(this.opened).as("nothing before the first acquisition").hasValue(0);
        Connection first = pool.acquire.block(WAIT);
        Await.until("3 connections opened", WAIT, () -> this.opened.get() == 3 && pool.metrics.idleSize() == 2,
            () -> "opened=" + this.opened + ", idle=" + pool.metrics.idleSize());
        release(first);
        assertThat(pool.metrics.allocatedSize()).isEqualTo(3);
    }

    @Test
    void shouldOpenMinIdleConnectionsAtTheFirstAcquisition() {
        NodePool pool = pool(p -> p.minIdle(2).maxSize(5));
        Connection first = pool.acquire.block(WAIT);
        Await.until("2 connections opened", WAIT, () -> this.opened.get() == 2, () -> "opened=" + this.opened);
        release(first);
        assertThat(pool.metrics.allocatedSize()).isEqualTo(2);
    }

    @Test
    void shouldEvictConnectionsIdlePastMaxIdleTimeInTheBackground() {
        NodePool pool = pool(p -> p.maxIdleTime(Duration.ofMillis(100)));
        release(pool.acquire.block(WAIT));
        assertThat(pool.metrics.idleSize()).isEqualTo(1);
        this.now.addAndGet(Duration.ofMillis(150).toNanos());
        // no acquisition: the background eviction, every maxIdleTime, finds it
        Await.until("the idle connection evicted", WAIT, () -> this.closed.get() == 1 && pool.metrics.allocatedSize() == 0,
            () -> "closed=" + this.closed + ", allocated=" + pool.metrics.allocatedSize());
    }

    @Test
    void shouldEvictAnIdleConnectionPastMaxIdleTimeOnAcquisition() {
        NodePool pool = pool(p -> p.maxIdleTime(Duration.ofMinutes(30)));
        release(pool.acquire.block(WAIT));
        this.now.addAndGet(Duration.ofMinutes(31).toNanos());
        Connection second = pool.acquire.block(WAIT);
        assertThat(this.opened).as("a fresh connection").hasValue(2);
        Await.until("the stale connection closed", WAIT, () -> this.closed.get() == 1);
        release(second);
    }

    @Test
    void shouldReplaceAConnectionPastMaxLifeTime() {
        NodePool pool = pool(p -> p.maxLifeTime(Duration.ofMinutes(10)).maxIdleTime(Duration.ZERO));
        Connection first = pool.acquire.block(WAIT);
        this.now.addAndGet(Duration.ofMinutes(9).toNanos());
        release(first);
        release(pool.acquire.block(WAIT));
        assertThat(this.opened).as("still young: reused").hasValue(1);
        this.now.addAndGet(Duration.ofMinutes(2).toNanos());
        Connection third = pool.acquire.block(WAIT);
        assertThat(this.opened).as("past maxLifeTime: replaced").hasValue(2);
        Await.until("the old connection closed", WAIT, () -> this.closed.get() == 1);
        release(third);
    }

    @Test
    void shouldFailAnAcquisitionWhoseConnectionTakesLongerThanMaxCreateConnectionTimeAndCloseItWhenItArrives() {
        AtomicInteger late = new AtomicInteger();
        // a driver that delivers its connection whatever happened meanwhile, as a connect in flight does
        Publisher<Connection> slow = subscriber -> {
            subscriber.onSubscribe(new Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            Schedulers.parallel().schedule(() -> {
                late.incrementAndGet();
                subscriber.onNext(connection());
                subscriber.onComplete();
            }, 300, java.util.concurrent.TimeUnit.MILLISECONDS);
        };
        NodePool pool = pool(p -> p.maxCreateConnectionTime(Duration.ofMillis(50)), factory(slow));
        StepVerifier.create(pool.acquire)
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(TimeoutException.class))
            .verify(WAIT);
        Await.until("the late connection arrived and was closed", WAIT, () -> late.get() == 1 && this.closed.get() == 1,
            () -> "late=" + late + ", closed=" + this.closed);
        assertThat(pool.metrics.allocatedSize()).isZero();
    }

    @Test
    void shouldValidateWithTheValidationQueryAndDestroyAConnectionItTimesOutOn() {
        NodePool pool = pool(p -> p.validationQuery("SELECT 1").maxValidationTime(Duration.ofMillis(100)));
        release(pool.acquire.block(WAIT));
        assertThat(statements()).containsExactly("SELECT 1");
        this.statementAnswer = Mono.never();
        StepVerifier.create(pool.acquire)
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcTimeoutException.class)
                .hasMessage("pool 'settings-tests': validation timed out after 100ms"))
            .verify(WAIT);
        Await.until("the connection that did not answer destroyed", WAIT, () -> this.closed.get() == 1);
        assertThat(pool.metrics.allocatedSize()).isZero();
    }

    @Test
    void shouldFailAnAcquisitionWhoseValidationQueryFails() {
        NodePool pool = pool(p -> p.validationQuery("SELECT 1"));
        this.statementAnswer = Mono.error(new R2dbcNonTransientResourceException("server said no"));
        StepVerifier.create(pool.acquire)
            .expectErrorSatisfies(error -> assertThat(error).hasMessage("server said no"))
            .verify(WAIT);
        assertThat(this.closed).hasValue(1);
    }

    @Test
    void shouldRetryAFailedAcquisitionAcquireRetryTimes() {
        NodePool none = pool(p -> p.acquireRetry(0));
        synchronized (this) {
            this.validations.add(false);
        }
        StepVerifier.create(none.acquire).expectError(R2dbcNonTransientResourceException.class).verify(WAIT);

        NodePool once = pool(p -> p.acquireRetry(1));
        synchronized (this) {
            this.validations.add(false);
        }
        Connection connection = once.acquire.block(WAIT);
        assertThat(connection).as("the retry got a valid connection").isNotNull();
        release(connection);
        synchronized (this) {
            this.validations.add(false);
            this.validations.add(false);
        }
        StepVerifier.create(once.acquire).expectError(R2dbcNonTransientResourceException.class).verify(WAIT);
    }

    @Test
    void shouldRunTheDriversLifecycleHooks() {
        NodePool pool = pool(p -> { });
        Connection first = pool.acquire.block(WAIT);
        assertThat(this.postAllocate).hasValue(1);
        assertThat(this.preRelease).hasValue(0);
        release(first);
        assertThat(this.preRelease).hasValue(1);
        release(pool.acquire.block(WAIT));
        assertThat(this.postAllocate).as("on every acquisition, as r2dbc-pool does").hasValue(2);
        assertThat(this.preRelease).hasValue(2);
        assertThat(pool.metrics.idleSize()).isEqualTo(1);
    }

    @Test
    void shouldRollBackOnReleaseATransactionBegunThroughThePooledConnection() {
        NodePool pool = pool(p -> { });
        Connection first = pool.acquire.block(WAIT);
        Mono.from(first.beginTransaction()).block(WAIT);
        release(first);
        assertThat(this.rollbacks).hasValue(1);
        assertThat(pool.metrics.idleSize()).isEqualTo(1);
        Connection second = pool.acquire.block(WAIT);
        Mono.from(second.beginTransaction()).block(WAIT);
        Mono.from(second.commitTransaction()).block(WAIT);
        release(second);
        assertThat(this.rollbacks).as("nothing to roll back after a commit").hasValue(1);
    }

    @Test
    void shouldCloseEveryConnectionWhenDisposed() {
        NodePool pool = pool(p -> p.initialSize(2));
        Connection lent = pool.acquire.block(WAIT);
        Await.until("2 connections opened", WAIT, () -> this.opened.get() == 2);
        pool.disposeLater().block(WAIT);
        Await.until("the idle one closed", WAIT, () -> this.closed.get() >= 1);
        release(lent);
        Await.until("the lent one closed on its release", WAIT, () -> this.closed.get() == 2, () -> "closed=" + this.closed);
    }
}
