package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The {@code r2dbc:routing:} URL: what it builds and how it refuses bad input (no server needed: nothing is asked of one). */
class RoutingConnectionFactoryProviderTests {

    private static final String PASSWORD = "S3cret-pw";

    private RoutingConnectionFactory factory;

    @AfterEach
    void close() {
        if (this.factory != null) {
            this.factory.close().block(Duration.ofSeconds(10));
        }
    }

    private RoutingConnectionFactory get(String url) {
        ConnectionFactory made = ConnectionFactories.get(url);
        assertThat(made).isInstanceOf(RoutingConnectionFactory.class);
        this.factory = (RoutingConnectionFactory) made;
        return this.factory;
    }

    @Test
    void shouldBuildAHostListFactoryWithTheUrlOptions() {
        RoutingConnectionFactory db = get("r2dbc:routing:postgresql://app:" + PASSWORD
            + "@127.0.0.1:1,127.0.0.2:1,127.0.0.3:1/app?balancer=least-in-use&health.interval=2s&name=orders");
        assertThat(db.name()).isEqualTo("orders");
        assertThat(db.nodes()).extracting(NodeSnapshot::name).containsExactly("127.0.0.1:1", "127.0.0.2:1", "127.0.0.3:1");
        assertThat(db.getMetadata().getName()).isEqualTo("PostgreSQL");
        assertThat(db.toString()).contains("hosts [127.0.0.1:1, 127.0.0.2:1, 127.0.0.3:1]").contains("leastInUse").doesNotContain(PASSWORD);
    }

    @Test
    void shouldUseTheUrlPortForHostsWithoutOne() {
        RoutingConnectionFactory db = get("r2dbc:routing:postgresql://app:" + PASSWORD + "@127.0.0.1:7,127.0.0.2/app");
        assertThat(db.nodes()).extracting(NodeSnapshot::name).containsExactly("127.0.0.1:7", "127.0.0.2");
    }

    @Test
    void shouldRefuseAnUnknownRoutingOptionNamingIt() {
        assertThatThrownBy(() -> ConnectionFactories.get("r2dbc:routing:postgresql://app:" + PASSWORD + "@h1:5432/app?health.intervall=1s"))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("health.intervall"))
            .hasMessageStartingWith("unknown option 'health.intervall' of an r2dbc:routing: URL; the routing options are [")
            .hasMessageNotContaining(PASSWORD);
    }

    @Test
    void shouldRefuseABadValueNamingTheOptionAndTheValue() {
        assertThatThrownBy(() -> ConnectionFactories.get("r2dbc:routing:postgresql://app:" + PASSWORD + "@h1:5432/app?health.interval=soon"))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("health.interval"))
            .hasMessageContaining("soon")
            .hasMessageNotContaining(PASSWORD);
        assertThatThrownBy(() -> ConnectionFactories.get("r2dbc:routing:postgresql://app:" + PASSWORD + "@h1:5432/app?startupWait=0s"))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("startupWait"))
            .hasMessage("startupWait must be positive, was PT0S");
        assertThatThrownBy(() -> ConnectionFactories.get("r2dbc:routing:postgresql://app:" + PASSWORD + "@h1:5432/app?patroni.interval=abc"
                + "&patroni=http://h1:8008"))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("patroni.interval"))
            .hasMessageContaining("patroni.interval")
            .hasMessageContaining("abc");
    }

    @Test
    void shouldRefuseAUrlWithoutHosts() {
        ConnectionFactoryOptions options = ConnectionFactoryOptions.builder()
            .option(ConnectionFactoryOptions.DRIVER, "routing")
            .option(ConnectionFactoryOptions.PROTOCOL, "postgresql")
            .option(ConnectionFactoryOptions.PASSWORD, PASSWORD)
            .build();
        assertThatThrownBy(() -> ConnectionFactories.get(options))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("host"))
            .hasMessage("an r2dbc:routing: URL needs the nodes' hosts (pg-0:5432,pg-1:5432) or a patroni option; it names no host");
    }

    @Test
    void shouldRefuseAUrlWithoutTheNodesDriver() {
        assertThatThrownBy(() -> ConnectionFactories.get("r2dbc:routing://app:" + PASSWORD + "@h1:5432/app"))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("protocol"))
            .hasMessageContaining("names the nodes' driver after 'routing:'")
            .hasMessageNotContaining(PASSWORD);
    }

    @Test
    void shouldRefuseAPatroniUrlThatIsNotHttpWithoutItsPassword() {
        assertThatThrownBy(() -> ConnectionFactories.get("r2dbc:routing:postgresql://app:" + PASSWORD + "@h1/app?patroni=ftp://admin:"
                + PASSWORD + "@h1:8008"))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("patroni"))
            .hasMessage("patroni: 'ftp://***@h1:8008' is not an http:// or https:// URL of a Patroni REST API (e.g. http://pg-0:8008)");
    }

    @Test
    void shouldBuildAPatroniFactoryThatKnowsNoNodeBeforePatroniAnswers() {
        RoutingConnectionFactory db = get("r2dbc:routing:postgresql://app:" + PASSWORD + "@ignored/app?patroni=http://127.0.0.1:1");
        assertThat(db.nodes()).isEmpty();
        assertThat(db.getMetadata().getName()).isEqualTo("PostgreSQL");
        assertThat(db.toString()).contains("patroni [http://127.0.0.1:1]").doesNotContain(PASSWORD);
    }
}
