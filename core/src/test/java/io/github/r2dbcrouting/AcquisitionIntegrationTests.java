package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Mono;

/**
 * The promises behind the acquisition deadline, on a real cluster (primary + 1 replica): an
 * acquisition never waits past {@code maxAcquireTime}, a node frozen while a connection is
 * opened is given up on within {@code maxCreateConnectionTime}, and a connection that shows up
 * after the deadline goes back to its pool. Probes are off, so that only acquisitions see the
 * fault. Every test leaves no acquired pooled connection and no server session behind.
 *
 * <p>One cluster serves the class: the tests only freeze nodes, and the extension thaws them
 * after each test.
 */
class AcquisitionIntegrationTests {

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(1).build();

    private RoutingConnectionFactory factory;

    private final EventLog events = new EventLog();

    @BeforeEach
    void closeFactoryAfterTest() {
        CLUSTER.afterTest(() -> {
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            }
        });
    }


    private RoutingConnectionFactory build(Duration maxAcquireTime, Duration maxCreateConnectionTime, int maxSize) {
        return RoutingConnectionFactory.builder()
            .name("acquisition")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica("replica-1", CLUSTER.replicas().get(0).connectionFactory())
            .health(h -> h.interval(Duration.ZERO))
            .pool(p -> p.maxSize(maxSize).maxAcquireTime(maxAcquireTime).maxCreateConnectionTime(maxCreateConnectionTime))
            .listener(this.events)
            .build();
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    /** Runs {@code mono} and returns its error (or fails), with how long it took in {@code elapsed}. */
    private static Throwable failure(Mono<?> mono, long[] elapsed) {
        long start = System.nanoTime();
        AtomicReference<Throwable> error = new AtomicReference<>();
        mono.doOnError(error::set).onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(30));
        elapsed[0] = System.nanoTime() - start;
        assertThat(error.get()).as("the acquisition failed").isNotNull();
        return error.get();
    }

    @Test
    void shouldGiveUpOnAPrimaryFrozenWhileOpeningAConnectionWithinMaxCreateConnectionTime() {
        this.factory = build(Duration.ofSeconds(5), Duration.ofSeconds(1), 4);
        CLUSTER.primary().freeze();

        long[] elapsed = new long[1];
        Throwable error = failure(Mono.from(this.factory.writes().create()), elapsed);

        assertThat(error).isInstanceOf(R2dbcTimeoutException.class)
            .hasMessage("node 'primary': opening a connection timed out after 1000ms");
        assertThat(Duration.ofNanos(elapsed[0])).isBetween(Duration.ofMillis(900), Duration.ofMillis(4000));
    }

    @Test
    void shouldServeAReadOnThePrimaryWhenTheReplicaFreezesWhileOpeningAConnection() {
        this.factory = build(Duration.ofSeconds(5), Duration.ofSeconds(1), 4);
        PostgresNode replica = CLUSTER.replicas().get(0);
        replica.freeze();

        long start = System.nanoTime();
        Db.Served served = Db.whoServes(this.factory.reads()).block(Duration.ofSeconds(30));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(served.port()).as("the read fell back to the primary").isEqualTo(CLUSTER.primary().port());
        assertThat(took).isBetween(Duration.ofMillis(900), Duration.ofMillis(4000));
        assertThat(node("replica-1").state()).isEqualTo(NodeState.EJECTED);
        assertThat(node("replica-1").reason()).contains("opening a connection timed out after 1000ms");
    }

    @Test
    void shouldFailAnAcquisitionFromAnExhaustedPoolAfterMaxAcquireTimeWithoutLosingAConnection() {
        this.factory = build(Duration.ofMillis(500), Duration.ofSeconds(3), 1);
        Connection held = Mono.from(this.factory.writes().create()).block(Duration.ofSeconds(10));

        long[] elapsed = new long[1];
        Throwable error = failure(Mono.from(this.factory.writes().create()), elapsed);

        assertThat(error).isInstanceOf(R2dbcTimeoutException.class)
            .hasMessage("node 'primary': connection acquisition timed out after 500ms");
        assertThat(Duration.ofNanos(elapsed[0])).isBetween(Duration.ofMillis(450), Duration.ofMillis(3000));
        assertThat(node("primary").pending()).as("the timed-out acquisition left the pool's queue").isZero();
        Mono.from(held.close()).block(Duration.ofSeconds(10));
        assertThat(node("primary").acquired()).isZero();
        assertThat(Db.whoServes(this.factory.writes()).block(Duration.ofSeconds(10)).inRecovery()).isFalse();
    }

    @Test
    void shouldReturnAConnectionOpenedAfterTheDeadlineToThePool() {
        // no creation timeout: the connection being opened outlives the acquisition that asked for it
        this.factory = build(Duration.ofMillis(500), Duration.ZERO, 4);
        PostgresNode primary = CLUSTER.primary();
        primary.freeze();

        long[] elapsed = new long[1];
        Throwable error = failure(Mono.from(this.factory.writes().create()), elapsed);
        assertThat(error).isInstanceOf(R2dbcTimeoutException.class)
            .hasMessage("node 'primary': connection acquisition timed out after 500ms");
        assertThat(Duration.ofNanos(elapsed[0])).isBetween(Duration.ofMillis(450), Duration.ofMillis(3000));

        primary.thaw();
        Await.until("the late connection idle in the primary's pool", Duration.ofSeconds(10),
            () -> node("primary").idle() == 1 && node("primary").acquired() == 0, () -> node("primary").toString());
        assertThat(Db.whoServes(this.factory.writes()).block(Duration.ofSeconds(10)).inRecovery()).isFalse();
        assertThat(node("primary").idle()).as("the late connection served the next acquisition").isEqualTo(1);
    }
}
