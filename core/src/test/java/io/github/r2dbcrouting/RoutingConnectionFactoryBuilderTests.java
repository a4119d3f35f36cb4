package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.Test;

/** Bad input is refused with a message that names the setting and the value. */
class RoutingConnectionFactoryBuilderTests {

    private final ConnectionFactory primary = new StubConnectionFactory("primary");

    private final ConnectionFactory replica = new StubConnectionFactory("replica");

    @Test
    void shouldRefuseBuildWithoutPrimary() {
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().replica("replica-1", this.replica).build())
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("primary must be set: call primary(name, connectionFactory) before build(); replicas given: [replica-1]");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().build())
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("primary must be set: call primary(name, connectionFactory) before build()");
    }

    @Test
    void shouldRefuseDuplicateNodeNames() {
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().primary("pg", this.primary).replica("pg", this.replica))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("duplicate node name 'pg': node names must be unique");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().replica("r", this.primary).replica("r", this.replica))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("duplicate node name 'r': node names must be unique");
    }

    @Test
    void shouldRefuseSecondPrimary() {
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().primary("a", this.primary).primary("b", this.replica))
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("primary is already set to 'a'; a factory has one primary, was given 'b' too");
    }

    @Test
    void shouldRefuseReplicaThatIsThePrimaryAgain() {
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().primary("primary", this.primary).replica("replica-1", this.primary).build())
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("node 'replica-1' uses the same ConnectionFactory instance as node 'primary': each node needs its own factory pointing at its own server");
    }

    @Test
    void shouldRefuseBlankAndNullNames() {
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().primary(" ", this.primary))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("primary name must not be blank, was ' '");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().replica("", this.replica))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("replica name must not be blank, was ''");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().name(""))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("name must not be blank, was ''");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().replica("replica-1", null))
            .isInstanceOf(NullPointerException.class)
            .hasMessage("connectionFactory of replica 'replica-1' must not be null");
    }

    @Test
    void shouldRefuseNonPositiveHealthIntervalAndTimeout() {
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().health(h -> h.interval(Duration.ofSeconds(-1))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.interval must be positive (or Duration.ZERO to switch probing off), was PT-1S");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().health(h -> h.timeout(Duration.ZERO)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.timeout must be positive, was PT0S");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().health(h -> h.timeout(Duration.ofMillis(-5))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.timeout must be positive, was PT-0.005S");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().health(h -> h.interval(Duration.ofMillis(500)).timeout(Duration.ofSeconds(2))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.timeout must not exceed health.interval (PT0.5S), was PT2S");
    }

    @Test
    void shouldShortenTheDefaultTimeoutToAShorterIntervalWhenNoTimeoutIsSet() {
        // interval 500ms alone is a valid setting (it failed with "health.timeout must not exceed ..." before)
        assertThat(HealthSettings.builder().interval(Duration.ofMillis(500)).build().timeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(HealthSettings.builder().interval(Duration.ofSeconds(3)).build().timeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(HealthSettings.builder().interval(Duration.ZERO).build().timeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(HealthSettings.builder().interval(Duration.ofMillis(500)).timeout(Duration.ofMillis(200)).build().timeout())
            .isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void shouldRefuseBadHealthCounts() {
        assertThatThrownBy(() -> HealthSettings.builder().failuresToEject(0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.failuresToEject must be at least 1, was 0");
        assertThatThrownBy(() -> HealthSettings.builder().successesToReadmit(-2))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.successesToReadmit must be at least 1, was -2");
        assertThatThrownBy(() -> HealthSettings.builder().maxLagBytes(-1))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.maxLagBytes must be at least 0, was -1");
        assertThatThrownBy(() -> HealthSettings.builder().maxLagTime(Duration.ofSeconds(-3)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.maxLagTime must not be negative (use Duration.ZERO to disable), was PT-3S");
        assertThatThrownBy(() -> HealthSettings.builder().validationQuery(" "))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("health.validationQuery must not be blank, was ' '");
    }

    @Test
    void shouldRefuseBadPoolSettings() {
        assertThatThrownBy(() -> PoolSettings.builder().maxSize(0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.maxSize must be at least 1, was 0");
        assertThatThrownBy(() -> PoolSettings.builder().initialSize(-1))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.initialSize must be at least 0, was -1");
        assertThatThrownBy(() -> PoolSettings.builder().minIdle(-1))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.minIdle must be at least 0, was -1");
        assertThatThrownBy(() -> PoolSettings.builder().maxAcquireTime(Duration.ofSeconds(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.maxAcquireTime must not be negative (use Duration.ZERO to disable), was PT-1S");
        assertThatThrownBy(() -> PoolSettings.builder().maxCreateConnectionTime(Duration.ofSeconds(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.maxCreateConnectionTime must not be negative (use Duration.ZERO to disable), was PT-1S");
        assertThatThrownBy(() -> PoolSettings.builder().maxIdleTime(Duration.ofSeconds(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.maxIdleTime must not be negative (use Duration.ZERO to disable), was PT-1S");
        assertThatThrownBy(() -> PoolSettings.builder().maxLifeTime(Duration.ofSeconds(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.maxLifeTime must not be negative (use Duration.ZERO to disable), was PT-1S");
        assertThatThrownBy(() -> PoolSettings.builder().maxValidationTime(Duration.ofSeconds(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.maxValidationTime must not be negative (use Duration.ZERO to disable), was PT-1S");
        assertThatThrownBy(() -> PoolSettings.builder().acquireRetry(-1))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.acquireRetry must be at least 0, was -1");
        assertThatThrownBy(() -> PoolSettings.builder().validationQuery(""))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.validationQuery must not be blank, was ''");
        assertThatThrownBy(() -> PoolSettings.builder().maxSize(2).initialSize(3).build())
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.initialSize must not exceed pool.maxSize (2), was 3");
        assertThatThrownBy(() -> PoolSettings.builder().maxSize(2).minIdle(5).build())
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("pool.minIdle must not exceed pool.maxSize (2), was 5");
    }

    @Test
    void shouldRefuseBadWeights() {
        assertThatThrownBy(() -> Balancer.weightedRandom(java.util.Map.of("replica-1", 0)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("weight of replica 'replica-1' must be at least 1, was 0");
    }

    @Test
    void shouldRefuseAddingAReplicaUnderATakenName() {
        RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
            .primary("primary", this.primary)
            .replica("replica-1", this.replica)
            .health(h -> h.interval(Duration.ZERO))
            .build();
        try {
            assertThatThrownBy(() -> factory.addReplica("replica-1", new StubConnectionFactory("other")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("replica name 'replica-1' is already in use by a node of 'routing'");
            assertThatThrownBy(() -> factory.removeReplica("nope"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no replica named 'nope' in 'routing'; nodes are [primary, replica-1]");
            assertThatThrownBy(() -> factory.removeReplica("primary"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("node 'primary' is the configured primary and cannot be removed");
        } finally {
            factory.close().block(Duration.ofSeconds(5));
        }
        assertThatThrownBy(() -> factory.addReplica("replica-2", new StubConnectionFactory("late")))
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("RoutingConnectionFactory 'routing' is closed");
    }

    @Test
    void shouldNeverShowPasswordInToStringOrErrors() {
        String password = "s3cret-Pa55word";
        ConnectionFactory pg = ConnectionFactories.get("r2dbc:postgresql://app:" + password + "@127.0.0.1:1/app");
        ConnectionFactory pg2 = ConnectionFactories.get("r2dbc:postgresql://app:" + password + "@127.0.0.1:2/app");
        RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
            .primary("primary", pg)
            .replica("replica-1", pg2)
            .health(h -> h.interval(Duration.ZERO))
            .whenNoReplica(Fallback.FAIL)
            .build();
        try {
            assertThat(factory.toString())
                .isEqualTo("RoutingConnectionFactory{name=routing, primary=primary, replicas=[replica-1], balancer=roundRobin, fallback=FAIL}")
                .doesNotContain(password);
            assertThat(factory.reads().toString()).isEqualTo("routing.reads()");
            assertThat(factory.nodes().toString()).doesNotContain(password);
            Throwable error = reactor.core.publisher.Mono.from(factory.create())
                .contextWrite(Routing.readOnly())
                .map(Object::toString)
                .onErrorResume(e -> reactor.core.publisher.Mono.just(e.toString() + " " + java.util.Arrays.toString(e.getSuppressed())))
                .map(IllegalStateException::new)
                .block(Duration.ofSeconds(10));
            assertThat(error.getMessage()).contains("no healthy replica").doesNotContain(password);
        } finally {
            factory.close().block(Duration.ofSeconds(5));
        }
    }
}
