package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingMetricsRecorder;
import io.github.r2dbcrouting.micrometer.MicrometerMetricsRecorder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.r2dbc.connection.R2dbcTransactionManager;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.ReactiveTransactionManager;

class RoutingAutoConfigurationTests {

    private static final String PASSWORD = "pr1mary-S3cret";

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, RoutingTransactionManagerAutoConfiguration.class,
            RoutingHealthContributorAutoConfiguration.class, R2dbcAutoConfiguration.class, R2dbcTransactionManagerAutoConfiguration.class));

    /** Valid settings; probing off so that no test opens a connection to these unreachable hosts. */
    private static final String[] VALID = {
        "r2dbc.routing.name=orders",
        "r2dbc.routing.primary.url=r2dbc:postgresql://127.0.0.1:1/app",
        "r2dbc.routing.primary.username=app",
        "r2dbc.routing.primary.password=" + PASSWORD,
        "r2dbc.routing.replicas.replica-1.url=r2dbc:postgresql://127.0.0.1:2/app",
        "r2dbc.routing.replicas.replica-2.url=r2dbc:postgresql://127.0.0.1:3/app",
        "r2dbc.routing.replicas.replica-2.username=reader",
        "r2dbc.routing.health.interval=0",
        "r2dbc.routing.pool.max-size=4",
        "r2dbc.routing.balancer=least-in-use",
        "r2dbc.routing.fallback=fail",
    };

    @Test
    void shouldExposeTheRoutingFactoryAsTheConnectionFactory() {
        this.runner.withPropertyValues(VALID).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(ConnectionFactory.class);
            RoutingConnectionFactory factory = context.getBean(RoutingConnectionFactory.class);
            assertThat(context.getBean(ConnectionFactory.class)).isSameAs(factory);
            assertThat(factory.name()).isEqualTo("orders");
            assertThat(factory.nodes()).extracting(NodeSnapshot::name).containsExactly("primary", "replica-1", "replica-2");
            assertThat(factory.nodes()).allSatisfy(node -> assertThat(node.maxSize()).isEqualTo(4));
            assertThat(factory.toString()).contains("leastInUse", "FAIL").doesNotContain(PASSWORD);
            assertThat(context).hasSingleBean(DatabaseClient.class);
            assertThat(context.getBean(DatabaseClient.class).getConnectionFactory()).isSameAs(factory);
            assertThat(context.getBean(ReactiveTransactionManager.class)).isInstanceOf(RoutingR2dbcTransactionManager.class);
            assertThat(context).hasSingleBean(RoutingHealthIndicator.class);
            assertThat(context.getBean(RoutingProperties.class).toString()).doesNotContain(PASSWORD);
        });
    }

    @Test
    void shouldCloseTheFactoryWithTheContext() {
        RoutingConnectionFactory[] factory = new RoutingConnectionFactory[1];
        this.runner.withPropertyValues(VALID).run(context -> factory[0] = context.getBean(RoutingConnectionFactory.class));
        assertThat(factory[0].isClosed()).isTrue();
    }

    @Test
    void shouldStayAwayWithoutProperties() {
        this.runner.withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, RoutingTransactionManagerAutoConfiguration.class))
            .withPropertyValues("spring.r2dbc.url=r2dbc:postgresql://127.0.0.1:1/app", "spring.r2dbc.username=app")
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context).doesNotHaveBean(RoutingConnectionFactory.class);
                assertThat(context).doesNotHaveBean(RoutingProperties.class);
                assertThat(context).hasSingleBean(ConnectionFactory.class);
                assertThat(context.getBean(ReactiveTransactionManager.class)).isExactlyInstanceOf(R2dbcTransactionManager.class);
            });
    }

    @Test
    void shouldIgnoreForeignKeysUnderTheSamePrefix() {
        // what R2DBC_ROUTING_TESTKIT_IMAGE in the environment binds to
        this.runner.withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, RoutingTransactionManagerAutoConfiguration.class))
            .withPropertyValues("spring.r2dbc.url=r2dbc:postgresql://127.0.0.1:1/app", "spring.r2dbc.username=app",
                "r2dbc.routing.testkit.image=postgres:15")
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context).doesNotHaveBean(RoutingConnectionFactory.class);
            });
    }

    @Test
    void shouldBackOffWhenTheApplicationDefinesAConnectionFactory() {
        this.runner.withPropertyValues(VALID).withUserConfiguration(UserConnectionFactory.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(RoutingConnectionFactory.class);
            assertThat(context.getBean(ConnectionFactory.class)).isSameAs(context.getBean(UserConnectionFactory.class).factory);
            assertThat(context).doesNotHaveBean(RoutingR2dbcTransactionManager.class);
        });
    }

    @Test
    void shouldLeaveTheApplicationsTransactionManagerAlone() {
        this.runner.withPropertyValues(VALID).withUserConfiguration(UserTransactionManager.class).run(context -> {
            assertThat(context).hasSingleBean(ReactiveTransactionManager.class);
            assertThat(context.getBean(ReactiveTransactionManager.class)).isExactlyInstanceOf(R2dbcTransactionManager.class);
        });
    }

    @Test
    void shouldRecordMetricsWhenAMeterRegistryExists() {
        this.runner.withPropertyValues(VALID).withBean(MeterRegistry.class, SimpleMeterRegistry::new).run(context -> {
            assertThat(context).hasSingleBean(MicrometerMetricsRecorder.class);
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("r2dbc.routing.pool.acquired").tags("factory", "orders", "node", "replica-2").gauge().value()).isZero();
        });
    }

    @Test
    void shouldUseTheApplicationsMetricsRecorder() {
        RoutingMetricsRecorder mine = new MicrometerMetricsRecorder(new SimpleMeterRegistry());
        this.runner.withPropertyValues(VALID).withBean(MeterRegistry.class, SimpleMeterRegistry::new)
            .withBean("myRecorder", RoutingMetricsRecorder.class, () -> mine)
            .run(context -> {
                assertThat(context).hasSingleBean(RoutingMetricsRecorder.class);
                assertThat(mine.toString()).contains("factory=orders");
            });
    }

    @Test
    void shouldApplyCustomizers() {
        this.runner.withPropertyValues(VALID)
            .withBean(RoutingConnectionFactoryBuilderCustomizer.class, () -> builder -> builder.name("customized"))
            .run(context -> assertThat(context.getBean(RoutingConnectionFactory.class).name()).isEqualTo("customized"));
    }

    @Test
    void shouldInheritCredentialsFromThePrimary() {
        RoutingProperties properties = new RoutingProperties();
        properties.getPrimary().setUrl("r2dbc:postgresql://127.0.0.1:1/app");
        properties.getPrimary().setUsername("app");
        properties.getPrimary().setPassword(PASSWORD);
        RoutingProperties.Node replica = new RoutingProperties.Node();
        replica.setUrl("r2dbc:postgresql://127.0.0.1:2/app");
        properties.getReplicas().put("replica-1", replica);
        assertThat(properties.toString()).doesNotContain(PASSWORD).contains("******");
    }

    @Test
    void shouldSetWeightsFromAList() {
        this.runner.withPropertyValues(VALID)
            .withPropertyValues("r2dbc.routing.balancer=weighted-random", "r2dbc.routing.weights=replica-1:3,replica-2:1")
            .run(context -> assertThat(context.getBean(RoutingConnectionFactory.class).toString())
                .contains("balancer=weightedRandom{", "replica-1=3", "replica-2=1"));
    }

    @Test
    void shouldSetWeightsFromAMapAndChooseTheWeightedBalancer() {
        // no balancer property: weights alone choose the weighted random balancer
        this.runner.withPropertyValues(Arrays.stream(VALID).filter(value -> !value.startsWith("r2dbc.routing.balancer=")).toArray(String[]::new))
            .withPropertyValues("r2dbc.routing.weights.replica-2=5")
            .run(context -> assertThat(context.getBean(RoutingConnectionFactory.class).toString())
                .contains("balancer=weightedRandom{replica-2=5}"));
    }

    @Test
    void shouldSetSessionWaitAndCamelCaseSettings() {
        this.runner.withPropertyValues(Arrays.stream(VALID).filter(value -> !value.startsWith("r2dbc.routing.pool.max-size=")).toArray(String[]::new))
            .withPropertyValues("r2dbc.routing.session-wait=250ms", "r2dbc.routing.pool.maxSize=6")
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBean(RoutingConnectionFactory.class).nodes())
                    .allSatisfy(node -> assertThat(node.maxSize()).isEqualTo(6));
            });
    }

    @Test
    void shouldProbeOnEachHealthCallOnlyWhenProbingIsOff() {
        this.runner.withPropertyValues(VALID)
            .run(context -> assertThat(context.getBean(RoutingHealthIndicator.class).probesOnCall()).isTrue());
        this.runner.withPropertyValues(VALID).withPropertyValues("r2dbc.routing.health.interval=PT0S")
            .run(context -> assertThat(context.getBean(RoutingHealthIndicator.class).probesOnCall()).isTrue());
        this.runner.withPropertyValues(VALID).withPropertyValues("r2dbc.routing.health.interval=1s")
            .run(context -> assertThat(context.getBean(RoutingHealthIndicator.class).probesOnCall()).isFalse());
    }

    @Test
    void shouldFailOnANegativeSessionWait() {
        assertFailureSaying("r2dbc.routing.session-wait", "sessionWait must not be negative", "r2dbc.routing.session-wait=-1s");
    }

    @Test
    void shouldFailOnAWeightBelowOne() {
        assertFailureSaying("r2dbc.routing.weights", "weight of replica 'replica-1' must be at least 1, was 0",
            "r2dbc.routing.balancer=weighted-random", "r2dbc.routing.weights=replica-1:0");
    }

    @Test
    void shouldFailOnWeightsForAnotherBalancer() {
        assertFailureSaying("r2dbc.routing.weights", "weights apply to the weighted-random balancer only", "r2dbc.routing.weights=replica-1:2");
    }

    @Test
    void shouldFailOnTextThatIsNotADuration() {
        assertFailureSaying("r2dbc.routing.health.interval", "'fast' is not a duration", "r2dbc.routing.health.interval=fast");
    }

    @Test
    void shouldFailOnAMinIdleAboveMaxSize() {
        assertFailureSaying("r2dbc.routing.pool.min-idle", "pool.minIdle must not exceed pool.maxSize (4), was 5", "r2dbc.routing.pool.min-idle=5");
    }

    @Test
    void shouldFailOnANegativeMaxAcquireTime() {
        assertFailure("r2dbc.routing.pool.max-acquire-time", "r2dbc.routing.pool.max-acquire-time=-5s");
    }

    @Test
    void shouldFailOnANegativeMaxLag() {
        assertFailure("r2dbc.routing.health.max-lag-bytes", "r2dbc.routing.health.max-lag-bytes=-1");
    }

    @Test
    void shouldFailOnANegativeInterval() {
        assertFailure("r2dbc.routing.health.interval", "r2dbc.routing.health.interval=-1s");
    }

    @Test
    void shouldFailOnATimeoutLongerThanTheInterval() {
        assertFailure("r2dbc.routing.health.timeout", "r2dbc.routing.health.interval=1s", "r2dbc.routing.health.timeout=2s");
    }

    @Test
    void shouldFailOnAnUnknownBalancer() {
        assertFailure("r2dbc.routing.balancer", "r2dbc.routing.balancer=fastest");
    }

    @Test
    void shouldFailOnAnUnknownFallback() {
        assertFailure("r2dbc.routing.fallback", "r2dbc.routing.fallback=somewhere");
    }

    @Test
    void shouldFailOnAReplicaWithoutUrl() {
        assertFailure("r2dbc.routing.replicas.replica-3.url", "r2dbc.routing.replicas.replica-3.username=reader");
    }

    @Test
    void shouldFailWithoutPrimaryUrl() {
        this.runner.withPropertyValues("r2dbc.routing.replicas.replica-1.url=r2dbc:postgresql://127.0.0.1:2/app",
                "r2dbc.routing.primary.password=" + PASSWORD)
            .run(context -> assertFailedNaming(context, "r2dbc.routing.primary.url"));
    }

    @Test
    void shouldFailOnAUrlThatIsNotR2dbcWithoutShowingItsPassword() {
        assertFailure("r2dbc.routing.replicas.replica-1.url", "r2dbc.routing.replicas.replica-1.url=postgresql://app:" + PASSWORD + "@db/app");
    }

    @Test
    void shouldFailOnAUrlWithoutDriverWithoutShowingItsPassword() {
        assertFailure("r2dbc.routing.primary.url", "r2dbc.routing.primary.url=r2dbc:nosuchdriver://app:" + PASSWORD + "@db/app");
    }

    @Test
    void shouldFailOnANonPositivePoolSize() {
        assertFailure("r2dbc.routing.pool.max-size", "r2dbc.routing.pool.max-size=0");
    }

    @Test
    void shouldFailOnAnInitialSizeAboveMaxSize() {
        assertFailure("r2dbc.routing.pool.initial-size", "r2dbc.routing.pool.max-size=2", "r2dbc.routing.pool.initial-size=3");
    }

    @Test
    void shouldFailOnAFailuresToEjectBelowOne() {
        assertFailure("r2dbc.routing.health.failures-to-eject", "r2dbc.routing.health.failures-to-eject=0");
    }

    @Test
    void shouldFailOnAPrimaryNameTakenByAReplica() {
        assertFailure("r2dbc.routing.replicas.replica-1", "r2dbc.routing.primary.name=replica-1");
    }

    private void assertFailure(String property, String... overrides) {
        assertFailureSaying(property, property, overrides);
    }

    private void assertFailureSaying(String property, String reason, String... overrides) {
        String[] values = Arrays.copyOf(VALID, VALID.length + overrides.length);
        System.arraycopy(overrides, 0, values, VALID.length, overrides.length);
        this.runner.withPropertyValues(values).run(context -> assertFailedNaming(context, property, reason));
    }

    private static void assertFailedNaming(AssertableApplicationContext context, String property) {
        assertFailedNaming(context, property, property);
    }

    private static void assertFailedNaming(AssertableApplicationContext context, String property, String reason) {
        assertThat(context).hasFailed();
        StringBuilder messages = new StringBuilder();
        for (Throwable error = context.getStartupFailure(); error != null; error = error.getCause()) {
            messages.append(error.getMessage()).append('\n');
        }
        assertThat(messages.toString()).contains("Property " + property + " with value", reason).doesNotContain(PASSWORD);
    }

    @Configuration(proxyBeanMethods = false)
    static class UserConnectionFactory {

        final ConnectionFactory factory = io.r2dbc.spi.ConnectionFactories.get("r2dbc:postgresql://me@127.0.0.1:9/mine");

        @Bean
        ConnectionFactory myConnectionFactory() {
            return this.factory;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserTransactionManager {

        @Bean
        ReactiveTransactionManager myTransactionManager(ConnectionFactory connectionFactory) {
            return new R2dbcTransactionManager(connectionFactory);
        }
    }
}
