package io.github.r2dbcrouting.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.Fallback;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

class MicrometerMetricsRecorderTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private MicrometerMetricsRecorder recorder;

    private RoutingConnectionFactory factory;

    @BeforeEach
    void setUp() {
        this.recorder = new MicrometerMetricsRecorder(this.registry);
        this.factory = newFactory("orders", this.recorder);
    }

    @AfterEach
    void tearDown() {
        this.factory.close().block(Duration.ofSeconds(10));
    }

    @Test
    void shouldCountRoutedAcquisitionsPerNodeAndRoute() {
        this.recorder.recordRouted("replica-1", true);
        this.recorder.recordRouted("replica-1", true);
        this.recorder.recordRouted("primary", false);
        this.recorder.recordRouted("primary", true);

        assertThat(acquisitions("replica-1", "read")).isEqualTo(2.0);
        assertThat(acquisitions("primary", "write")).isEqualTo(1.0);
        assertThat(acquisitions("primary", "read")).isEqualTo(1.0);
        assertThat(this.registry.find(MicrometerMetricsRecorder.ACQUISITIONS).tag("node", "replica-1").tag("route", "write")
            .counter().count()).isZero();
    }

    @Test
    void shouldReuseTheSameCounterOnTheHotPath() {
        this.recorder.recordRouted("replica-1", true);
        Counter first = this.registry.get(MicrometerMetricsRecorder.ACQUISITIONS).tags("node", "replica-1", "route", "read").counter();
        for (int i = 0; i < 1000; i++) {
            this.recorder.recordRouted("replica-1", true);
        }
        assertThat(this.registry.get(MicrometerMetricsRecorder.ACQUISITIONS).tags("node", "replica-1", "route", "read").counters())
            .containsExactly(first);
        assertThat(first.count()).isEqualTo(1001.0);
    }

    @Test
    void shouldCountFallbacksProbesAndEvents() {
        this.recorder.recordFallback(Fallback.PRIMARY);
        this.recorder.recordProbe("replica-1", Duration.ofMillis(3), true);
        this.recorder.recordProbe("replica-1", Duration.ofMillis(500), false);
        this.recorder.recordProbe("replica-1", Duration.ofMillis(500), false);

        assertThat(this.registry.get(MicrometerMetricsRecorder.FALLBACKS).tags("factory", "orders", "fallback", "primary").counter().count())
            .isEqualTo(1.0);
        assertThat(this.registry.get(MicrometerMetricsRecorder.FALLBACKS).tags("fallback", "fail").counter().count()).isZero();
        assertThat(this.registry.get(MicrometerMetricsRecorder.PROBE).tags("node", "replica-1", "outcome", "failure").timer().count())
            .isEqualTo(2);
        assertThat(this.registry.get(MicrometerMetricsRecorder.PROBE).tags("node", "replica-1", "outcome", "success").timer()
            .totalTime(TimeUnit.MILLISECONDS)).isEqualTo(3.0);
    }

    @Test
    void shouldCountEventsByType() {
        // a real event: removing a replica emits REMOVED for it
        this.factory.removeReplica("replica-1").block(Duration.ofSeconds(10));

        assertThat(this.registry.get(MicrometerMetricsRecorder.EVENTS).tags("factory", "orders", "node", "replica-1", "type", "removed")
            .counter().count()).isEqualTo(1.0);
    }

    @Test
    void shouldRegisterPoolGaugesPerNodeOnBind() {
        for (String name : new String[] {MicrometerMetricsRecorder.POOL_ACQUIRED, MicrometerMetricsRecorder.POOL_IDLE,
            MicrometerMetricsRecorder.POOL_PENDING}) {
            assertThat(this.registry.get(name).tags("factory", "orders", "node", "primary").gauge().value()).isZero();
            assertThat(this.registry.get(name).tags("factory", "orders", "node", "replica-1").gauge().value()).isZero();
        }
    }

    @Test
    void shouldRemovePoolGaugesWhenTheFactoryCloses() {
        this.recorder.recordRouted("primary", false);
        this.factory.close().block(Duration.ofSeconds(10));
        assertThat(this.registry.find(MicrometerMetricsRecorder.POOL_ACQUIRED).gauges()).isEmpty();
        assertThat(this.registry.get(MicrometerMetricsRecorder.ACQUISITIONS).tags("node", "primary", "route", "write").counter().count())
            .as("counters keep their totals").isEqualTo(1.0);
    }

    @Test
    void shouldTagWithNamesOnly() {
        this.recorder.recordRouted("primary", false);
        this.recorder.recordProbe("primary", Duration.ofMillis(1), true);
        for (Meter meter : this.registry.getMeters()) {
            for (Tag tag : meter.getId().getTags()) {
                assertThat(tag.getKey()).isIn("factory", "node", "route", "fallback", "type", "outcome");
                assertThat(tag.getValue()).doesNotContain("r2dbc:", "secret", "@");
            }
        }
    }

    @Test
    void shouldRefuseASecondFactory() {
        assertThatIllegalStateException().isThrownBy(() -> newFactory("billing", this.recorder))
            .withMessage("this MicrometerMetricsRecorder is bound to factory 'orders' already; give factory 'billing' its own recorder");
    }

    private double acquisitions(String node, String route) {
        return this.registry.get(MicrometerMetricsRecorder.ACQUISITIONS).tags("factory", "orders", "node", node, "route", route).counter()
            .count();
    }

    private static RoutingConnectionFactory newFactory(String name, MicrometerMetricsRecorder recorder) {
        return RoutingConnectionFactory.builder()
            .name(name)
            .primary("primary", new Unreachable())
            .replica("replica-1", new Unreachable())
            .health(h -> h.interval(Duration.ZERO))
            .metrics(recorder)
            .build();
    }

    /** A factory that is never asked for a connection in these tests. */
    private static final class Unreachable implements ConnectionFactory {

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.error(new IllegalStateException("not reachable in a unit test"));
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "unreachable";
        }

        @Override
        public String toString() {
            return "r2dbc:unreachable://user:secret@nowhere";
        }
    }
}
