package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.IsolationLevel;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * A holder's {@code close()} completes when the pool cannot take its connection back cleanly. The
 * MariaDB soak saw reads fail, one of them through {@code retryReads()}, with
 * {@code RuntimeException: Async resource cleanup failed after onError} caused by reactor-pool's
 * {@code IllegalArgumentException: Too many permits returned: returned=1, would bring to 17/16}
 * from the invalidation of a connection its server had closed, in a pool being retired: the pool's
 * complaint about its own count reached the holder's {@code close()} and failed a pipeline whose
 * work was done (or whose own error it replaced). The same path carries a driver whose
 * {@code close()} fails on a connection the server dropped (reactor-pool destroys an invalidated
 * connection with it), which is what this test does, deterministically, through the public API.
 *
 * <p>Here rather than in core's tests, which another change is reshaping.
 */
class BrokenConnectionReleaseTests {

    @Test
    void shouldCompleteTheHoldersCloseWhenThePoolCannotDestroyABrokenConnection() {
        Breaking driver = new Breaking();
        RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
            .name("broken-release")
            .primary("primary", driver)
            .health(h -> h.interval(Duration.ZERO))
            .build();
        try {
            Connection connection = Mono.from(factory.create()).block(Duration.ofSeconds(5));
            assertThat(connection).isNotNull();
            driver.broken.set(true);

            assertThatCode(() -> Mono.from(connection.close()).block(Duration.ofSeconds(5))).as("the holder's close").doesNotThrowAnyException();

            assertThat(factory.nodes()).extracting(NodeSnapshot::acquired).containsOnly(0);
            assertThat(driver.closes.get()).as("the driver's close was called").isPositive();
            driver.broken.set(false);
            Connection next = Mono.from(factory.create()).block(Duration.ofSeconds(5));
            assertThat(next).as("a new connection after the broken one").isNotNull().isNotSameAs(connection);
            Mono.from(next.close()).block(Duration.ofSeconds(5));
            assertThat(factory.nodes()).extracting(NodeSnapshot::acquired).containsOnly(0);
        } finally {
            driver.broken.set(false);
            factory.close().block(Duration.ofSeconds(10));
        }
    }

    /** Connections whose local validation fails and whose close fails while {@link #broken} is set, like a driver's after the server dropped them. */
    private static final class Breaking implements ConnectionFactory {

        final AtomicBoolean broken = new AtomicBoolean();

        final AtomicInteger closes = new AtomicInteger();

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.fromSupplier(() -> (Connection) Proxy.newProxyInstance(BrokenConnectionReleaseTests.class.getClassLoader(),
                new Class<?>[] {Connection.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "validate" -> Mono.fromSupplier(() -> !this.broken.get());
                    case "isAutoCommit" -> true;
                    case "getTransactionIsolationLevel" -> IsolationLevel.READ_COMMITTED;
                    case "close" -> Mono.defer(() -> {
                        this.closes.incrementAndGet();
                        return this.broken.get() ? Mono.error(new IllegalStateException("connection closed by the server")) : Mono.empty();
                    });
                    case "toString" -> "breaking connection";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                }));
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "Stub";
        }
    }
}
