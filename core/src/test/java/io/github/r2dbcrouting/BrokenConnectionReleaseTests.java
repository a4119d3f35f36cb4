package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Wrapped;
import org.junit.jupiter.api.Test;
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
 */
class BrokenConnectionReleaseTests {

    @Test
    void shouldCompleteTheHoldersCloseWhenThePoolCannotDestroyABrokenConnection() {
        ValidatingConnections driver = new ValidatingConnections();
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

    /**
     * The soak's own error, deterministically: reactor-pool 1.2.8 returns a connection's permit twice
     * when its pool is retired while a release recycles the connection (see
     * {@link ReactorPoolPermitTests}); here the holder's close in the releaser's continuation takes
     * the connection again, gives it back, takes it a third time and the node's pool is retired
     * before reactor-pool looks at the recycled slot again. It destroys that slot, closing the
     * connection under its third holder, whose {@code close()} then invalidates it through
     * {@code PooledConnection} into {@code Too many permits returned: returned=1, would bring to 2/1}:
     * the holder's {@code close()} completes all the same.
     */
    @Test
    void shouldCompleteTheHoldersCloseWhenReactorPoolReturnsARetiredConnectionsPermitTwice() throws Exception {
        ValidatingConnections driver = new ValidatingConnections();
        RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
            .name("double-permit")
            .primary("primary", driver)
            .pool(p -> p.maxSize(1))
            .health(h -> h.interval(Duration.ZERO))
            .build();
        try {
            Field field = RoutingConnectionFactory.class.getDeclaredField("cluster");
            field.setAccessible(true);
            Node primary = ((Cluster) field.get(factory)).node("primary");
            assertThat(primary).isNotNull();
            Connection first = Mono.from(factory.create()).block(Duration.ofSeconds(5));
            assertThat(first).isNotNull();
            Object physical = physical(first);
            AtomicReference<Connection> third = new AtomicReference<>();
            AtomicReference<Node.Lease> retired = new AtomicReference<>();

            Mono.from(first.close()).subscribe(null, null, () -> {
                Connection second = Mono.from(factory.create()).block(Duration.ofSeconds(5));
                assertThat(physical(second)).as("the same connection, recycled").isSameAs(physical);
                Mono.from(second.close()).block(Duration.ofSeconds(5));
                third.set(Mono.from(factory.create()).block(Duration.ofSeconds(5)));
                retired.set(primary.renewPool());
                retired.get().pool.disposeLater().block(Duration.ofSeconds(5));
            });
            assertThat(third.get()).as("the continuation ran inside the release").isNotNull();
            assertThat(driver.closes.get()).as("reactor-pool closed the third holder's connection").isOne();

            assertThatCode(() -> Mono.from(third.get().close()).block(Duration.ofSeconds(5))).as("the holder's close").doesNotThrowAnyException();
            assertThat(retired.get().lent()).isZero();
        } finally {
            factory.close().block(Duration.ofSeconds(10));
        }
    }

    private static Object physical(Connection connection) {
        Object unwrapped = connection;
        while (unwrapped instanceof Wrapped<?>) {
            unwrapped = ((Wrapped<?>) unwrapped).unwrap();
        }
        return unwrapped;
    }
}
