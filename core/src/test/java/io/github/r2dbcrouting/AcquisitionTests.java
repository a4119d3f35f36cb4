package io.github.r2dbcrouting;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

import static org.assertj.core.api.Assertions.assertThat;

/** The acquisition deadline in virtual time: armed only when the pool did not answer at once. */
class AcquisitionTests {

    private static final Duration MAX_ACQUIRE = Duration.ofSeconds(5);

    /** The sweep's tick for a 5 s deadline: a deadline fires between 4.9 s and 5 s. */
    private static final Duration TICK = Duration.ofMillis(100);

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();

    private final CountingScheduler timer = new CountingScheduler(this.time);

    @AfterEach
    void tearDown() {
        this.time.dispose();
    }

    private Acquisition acquisition(Mono<Connection> pool, Duration maxAcquireTime) {
        return new Acquisition(pool, "replica-1", maxAcquireTime, Duration.ofSeconds(3), this.timer, null);
    }

    @Test
    void shouldArmNoTimerWhenThePoolAnswersDuringSubscribe() {
        Connection connection = new FakeConnection().proxy();

        StepVerifier.create(acquisition(Mono.just(connection), MAX_ACQUIRE))
            .expectNext(connection)
            .verifyComplete();

        assertThat(this.timer.scheduled.get()).isZero();
    }

    @Test
    void shouldFailWithTimeoutNamingTheNodeWhenNoConnectionComesWithinMaxAcquireTime() {
        ManualPool pool = new ManualPool();

        StepVerifier.withVirtualTime(() -> acquisition(pool, MAX_ACQUIRE), () -> this.time, Long.MAX_VALUE)
            .expectSubscription()
            .expectNoEvent(MAX_ACQUIRE.minus(TICK).minusMillis(1))
            .thenAwait(Duration.ofMillis(1))
            .expectErrorSatisfies(error -> assertThat(error)
                .isInstanceOf(R2dbcTimeoutException.class)
                .hasMessage("node 'replica-1': connection acquisition timed out after 5000ms"))
            .verify(Duration.ofSeconds(5));

        assertThat(pool.cancelled).as("the pool acquisition is cancelled").isTrue();
        assertSweepStopped();
    }

    @Test
    void shouldDeliverAPendingConnectionThatComesInTimeAndDisarmTheDeadline() {
        ManualPool pool = new ManualPool();
        Connection connection = new FakeConnection().proxy();

        StepVerifier.withVirtualTime(() -> acquisition(pool, MAX_ACQUIRE), () -> this.time, Long.MAX_VALUE)
            .expectSubscription()
            .thenAwait(Duration.ofSeconds(4))
            .then(() -> pool.deliver(connection))
            .expectNext(connection)
            .verifyComplete();

        assertSweepStopped();
    }

    @Test
    void shouldReturnAConnectionThatArrivesAfterTheDeadlineToItsPool() {
        ManualPool pool = new ManualPool();
        FakeConnection late = new FakeConnection();

        StepVerifier.withVirtualTime(() -> acquisition(pool, MAX_ACQUIRE), () -> this.time, Long.MAX_VALUE)
            .expectSubscription()
            .thenAwait(MAX_ACQUIRE)
            .expectError(R2dbcTimeoutException.class)
            .verify(Duration.ofSeconds(5));
        assertThat(pool.cancelled).isTrue();
        pool.deliver(late.proxy());

        assertThat(late.closed.get()).as("a connection delivered after the deadline is closed (released to its pool)").isOne();
    }

    @Test
    void shouldReturnAConnectionThatArrivesAfterTheCallerCancelledToItsPool() {
        ManualPool pool = new ManualPool();
        FakeConnection late = new FakeConnection();

        StepVerifier.withVirtualTime(() -> acquisition(pool, MAX_ACQUIRE), () -> this.time, Long.MAX_VALUE)
            .expectSubscription()
            .thenAwait(Duration.ofSeconds(1))
            .thenCancel()
            .verify(Duration.ofSeconds(5));
        assertThat(pool.cancelled).isTrue();
        pool.deliver(late.proxy());

        assertThat(late.closed.get()).isOne();
        assertSweepStopped();
    }

    /** Once nothing waits, the sweep schedules nothing more. */
    private void assertSweepStopped() {
        this.time.advanceTimeBy(TICK.multipliedBy(2));
        int scheduled = this.timer.scheduled.get();
        this.time.advanceTimeBy(Duration.ofSeconds(10));
        assertThat(this.timer.scheduled.get()).as("sweeps scheduled once nothing waits").isEqualTo(scheduled);
    }

    @Test
    void shouldSweepManyWaitingAcquisitionsWithOneTaskPerTick() {
        Acquisition shared = acquisition(new ManualPool(), MAX_ACQUIRE);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        shared.subscribe(connection -> { }, errors::add);
        this.time.advanceTimeBy(Duration.ofSeconds(1));
        shared.subscribe(connection -> { }, errors::add);

        this.time.advanceTimeBy(Duration.ofMillis(3_900));
        assertThat(errors).as("the first times out between 4.9 s and 5 s").hasSize(1);
        this.time.advanceTimeBy(Duration.ofSeconds(1));
        assertThat(errors).hasSize(2);
        assertThat(this.timer.scheduled.get()).as("one sweep per tick, not a timer per acquisition").isBetween(49, 61);
    }

    @Test
    void shouldTickAtATenthOfTheDeadlineBetweenOneAndAHundredMilliseconds() {
        assertThat(Deadlines.tick(Duration.ofSeconds(5))).isEqualTo(Duration.ofMillis(100));
        assertThat(Deadlines.tick(Duration.ofMillis(500))).isEqualTo(Duration.ofMillis(50));
        assertThat(Deadlines.tick(Duration.ofMillis(5))).isEqualTo(Duration.ofMillis(1));
    }

    @Test
    void shouldNeverArmATimerWithoutMaxAcquireTime() {
        ManualPool pool = new ManualPool();

        StepVerifier.withVirtualTime(() -> acquisition(pool, Duration.ZERO), () -> this.time, Long.MAX_VALUE)
            .expectSubscription()
            .expectNoEvent(Duration.ofHours(1))
            .thenCancel()
            .verify(Duration.ofSeconds(5));

        assertThat(this.timer.scheduled.get()).isZero();
    }

    @Test
    void shouldTurnACreationTimeoutIntoAnR2dbcTimeoutNamingTheNode() {
        StepVerifier.create(acquisition(Mono.error(new TimeoutException("Did not observe any item")), MAX_ACQUIRE))
            .expectErrorSatisfies(error -> assertThat(error)
                .isInstanceOf(R2dbcTimeoutException.class)
                .hasMessage("node 'replica-1': opening a connection timed out after 3000ms")
                .hasCauseInstanceOf(TimeoutException.class))
            .verify(Duration.ofSeconds(5));
    }

    @Test
    void shouldNameTheNodeInAPoolTimeoutAndPassOtherErrorsUnchanged() {
        StepVerifier.create(acquisition(Mono.error(new R2dbcTimeoutException("Validation timed out after 2000ms")), MAX_ACQUIRE))
            .expectErrorMessage("node 'replica-1': Validation timed out after 2000ms")
            .verify(Duration.ofSeconds(5));
        R2dbcNonTransientResourceException refused = new R2dbcNonTransientResourceException("refused");
        StepVerifier.create(acquisition(Mono.error(refused), MAX_ACQUIRE))
            .expectErrorSatisfies(error -> assertThat(error).isSameAs(refused))
            .verify(Duration.ofSeconds(5));
    }

    @Test
    void shouldHandOutTheConnectionLentThroughItsLender() {
        Connection pooled = new FakeConnection().proxy();
        Lender lender = new Lender("acquisition-tests", "replica-1", false, null);
        Acquisition acquisition = new Acquisition(Mono.just(pooled), "replica-1", MAX_ACQUIRE, Duration.ofSeconds(3), this.timer, lender);

        StepVerifier.create(acquisition)
            .assertNext(connection -> {
                assertThat(connection).isInstanceOf(LentConnection.class);
                assertThat(((LentConnection) connection).unwrap()).isSameAs(pooled);
                assertThat(((LentConnection) connection).node()).isEqualTo("replica-1");
            })
            .verifyComplete();
    }

    @Test
    void shouldAnswerAFailureWithTheRoutesResumeAndTheNodeNamedError() {
        Connection elsewhere = new FakeConnection().proxy();
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Acquisition acquisition = acquisition(Mono.error(new TimeoutException("Did not observe any item")), MAX_ACQUIRE)
            .onFailure(error -> {
                seen.set(error);
                return Mono.just(elsewhere);
            });

        StepVerifier.create(acquisition).expectNext(elsewhere).verifyComplete();
        assertThat(seen.get()).hasMessage("node 'replica-1': opening a connection timed out after 3000ms");
    }

    @Test
    void shouldAnswerATimeoutWithTheRoutesResume() {
        ManualPool pool = new ManualPool();

        StepVerifier.withVirtualTime(() -> acquisition(pool, MAX_ACQUIRE).onFailure(error -> Mono.error(new IllegalStateException("resumed: "
                + error.getMessage()))), () -> this.time, Long.MAX_VALUE)
            .expectSubscription()
            .thenAwait(MAX_ACQUIRE)
            .expectErrorMessage("resumed: node 'replica-1': connection acquisition timed out after 5000ms")
            .verify(Duration.ofSeconds(5));
        assertThat(pool.cancelled).isTrue();
    }

    @Test
    void shouldCancelTheResumedAcquisitionWhenTheCallerLeaves() {
        ManualPool first = new ManualPool();
        ManualPool answer = new ManualPool();

        StepVerifier.create(acquisition(first, MAX_ACQUIRE).onFailure(error -> answer))
            .expectSubscription()
            .then(() -> first.fail(new R2dbcNonTransientResourceException("refused")))
            .thenCancel()
            .verify(Duration.ofSeconds(5));

        assertThat(answer.cancelled).isTrue();
    }

    /**
     * A pool acquisition answered by hand, which (like a pool racing a cancel) can still deliver
     * a connection after it was cancelled.
     */
    static final class ManualPool extends Mono<Connection> {

        volatile boolean cancelled;

        private volatile CoreSubscriber<? super Connection> subscriber;

        @Override
        public void subscribe(CoreSubscriber<? super Connection> actual) {
            this.subscriber = actual;
            actual.onSubscribe(new Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                    ManualPool.this.cancelled = true;
                }
            });
        }

        void fail(Throwable error) {
            this.subscriber.onError(error);
        }

        void deliver(Connection connection) {
            this.subscriber.onNext(connection);
            this.subscriber.onComplete();
        }
    }

    /** A connection that only counts its closes. */
    static final class FakeConnection {

        final AtomicInteger closed = new AtomicInteger();

        private final Connection proxy = (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class}, (self, method, args) -> {
                switch (method.getName()) {
                    case "close":
                        return Mono.<Void>empty().doOnSubscribe(s -> this.closed.incrementAndGet());
                    case "isAutoCommit":
                        return true;
                    case "getTransactionIsolationLevel":
                        return IsolationLevel.READ_COMMITTED;
                    case "equals":
                        return self == args[0];
                    case "hashCode":
                        return System.identityHashCode(self);
                    case "toString":
                        return "FakeConnection";
                    default:
                        throw new UnsupportedOperationException(method.getName());
                }
            });

        Connection proxy() {
            return this.proxy;
        }
    }

    /** Counts the timers armed and disarmed on a virtual-time scheduler. */
    static final class CountingScheduler implements Scheduler {

        final AtomicInteger scheduled = new AtomicInteger();

        final AtomicInteger disposed = new AtomicInteger();

        private final Scheduler delegate;

        CountingScheduler(Scheduler delegate) {
            this.delegate = delegate;
        }

        @Override
        public Disposable schedule(Runnable task) {
            return this.delegate.schedule(task);
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            this.scheduled.incrementAndGet();
            Disposable scheduled = this.delegate.schedule(task, delay, unit);
            return () -> {
                this.disposed.incrementAndGet();
                scheduled.dispose();
            };
        }

        @Override
        public long now(TimeUnit unit) {
            return this.delegate.now(unit);
        }

        @Override
        public Worker createWorker() {
            return this.delegate.createWorker();
        }
    }
}
