package io.github.r2dbcrouting;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.Wrapped;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

import static org.assertj.core.api.Assertions.assertThat;

/** The pool mechanics of {@link NodePool} over a stub driver (pure logic: no routing, no health). */
class NodePoolTests {

    private static final Duration WAIT = Duration.ofSeconds(5);

    /** Whether the stub's connections say they are valid. */
    private final AtomicBoolean valid = new AtomicBoolean(true);

    private final AtomicInteger opened = new AtomicInteger();

    private final AtomicInteger closed = new AtomicInteger();

    /** When set, validation answers only once this sink is emitted (a driver that checks asynchronously). */
    private volatile Sinks.One<Boolean> pendingValidation;

    private final ConnectionFactory stubs = new ConnectionFactory() {

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.fromSupplier(NodePoolTests.this::connection);
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "Stub";
        }
    };

    private final NodePool pool = new NodePool("test-node", PoolSettings.builder().maxSize(2).build(), this.stubs, new NodeActivity(System::nanoTime));

    @AfterEach
    void close() {
        this.pool.disposeLater().block(WAIT);
    }

    private Connection connection() {
        this.opened.incrementAndGet();
        AtomicBoolean open = new AtomicBoolean(true);
        return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "validate":
                    Sinks.One<Boolean> pending = this.pendingValidation;
                    return pending != null ? pending.asMono() : Mono.just(open.get() && this.valid.get());
                case "close":
                    return Mono.fromRunnable(() -> {
                        if (open.getAndSet(false)) {
                            this.closed.incrementAndGet();
                        }
                    });
                case "isAutoCommit":
                    return true;
                case "toString":
                    return "stub connection";
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    return Mono.empty();
            }
        });
    }

    @Test
    void shouldLendAValidatedConnectionAndTakeItBackOnClose() {
        Connection first = this.pool.acquire.block(WAIT);
        assertThat(first).isNotNull();
        assertThat(this.pool.metrics.acquiredSize()).isEqualTo(1);
        Mono.from(first.close()).block(WAIT);
        assertThat(this.pool.metrics.acquiredSize()).isZero();
        assertThat(this.pool.metrics.idleSize()).isEqualTo(1);
        Mono.from(first.close()).block(WAIT);
        assertThat(this.pool.metrics.idleSize()).as("a second close is a no-op").isEqualTo(1);
        Connection second = this.pool.acquire.block(WAIT);
        assertThat(this.opened).as("the idle connection is reused").hasValue(1);
        Mono.from(second.close()).block(WAIT);
    }

    @Test
    void shouldDestroyAConnectionThatFailsValidationAndFailTheAcquisition() {
        Connection first = this.pool.acquire.block(WAIT);
        Mono.from(first.close()).block(WAIT);
        this.valid.set(false);
        StepVerifier.create(this.pool.acquire)
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcNonTransientResourceException.class)
                .hasMessage("Connection validation failed"))
            .verify(WAIT);
        assertThat(this.closed).as("the invalid connection is closed").hasValue(1);
        assertThat(this.pool.metrics.allocatedSize()).isZero();
    }

    @Test
    void shouldDestroyOnReleaseAConnectionWhosePhysicalSideWasClosed() {
        Connection first = this.pool.acquire.block(WAIT);
        Connection physical = ((Wrapped<Connection>) first).unwrap();
        Mono.from(physical.close()).block(WAIT);
        Mono.from(first.close()).block(WAIT);
        assertThat(this.pool.metrics.allocatedSize()).as("not back idle").isZero();
        assertThat(this.pool.metrics.acquiredSize()).isZero();
    }

    @Test
    void shouldReturnAConnectionWhoseAcquisitionWasCancelledDuringValidation() {
        Connection first = this.pool.acquire.block(WAIT);
        Mono.from(first.close()).block(WAIT);
        Sinks.One<Boolean> pending = Sinks.one();
        this.pendingValidation = pending;
        AtomicInteger delivered = new AtomicInteger();
        Disposable acquisition = this.pool.acquire.subscribe(connection -> delivered.incrementAndGet());
        assertThat(this.pool.metrics.acquiredSize()).as("held while validated").isEqualTo(1);
        acquisition.dispose();
        pending.tryEmitValue(true);
        assertThat(this.pool.metrics.acquiredSize()).as("released once validated").isZero();
        assertThat(this.pool.metrics.idleSize()).isEqualTo(1);
        assertThat(this.closed).hasValue(0);
        assertThat(delivered).as("a cancelled acquisition delivers nothing").hasValue(0);
    }

    @Test
    void shouldFailAConnectionUseAfterClose() {
        Connection first = this.pool.acquire.block(WAIT);
        Mono.from(first.close()).block(WAIT);
        org.assertj.core.api.Assertions.assertThatIllegalStateException().isThrownBy(() -> first.createStatement("SELECT 1"))
            .withMessage("The connection is closed");
    }
}
