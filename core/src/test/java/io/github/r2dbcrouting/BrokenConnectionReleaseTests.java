package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Duration;

import io.r2dbc.spi.Connection;
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
}
