package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.test.StepVerifier;

/**
 * {@link RoutingSuite} on a real MariaDB primary with two GTID replicas (the testkit's
 * {@link MariaDbCluster}, one for the class), and what only MariaDB does: a probe user without
 * {@code SLAVE MONITOR}.
 */
class MariaDbRoutingIntegrationTests extends RoutingSuite {

    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
        .replicas(2)
        .schema(SCHEMA)
        .build();

    MariaDbRoutingIntegrationTests() {
        super(Family.mariaDb(CLUSTER));
    }

    /**
     * A probe user without SLAVE MONITOR: the replica is checked with the validation query only
     * (no role, no lag read: not trusted as a known replica), while the privileged primary's role
     * is read; reads still go to it as the replica it was configured as.
     */
    @Test
    void shouldProbeANodeWhoseUserMayNotReadReplicationStatusWithTheValidationQueryOnly() {
        MariaDbNode replica = CLUSTER.replicas().get(0);
        CLUSTER.primary().executeAsAdmin("CREATE USER IF NOT EXISTS 'noslave'@'%' IDENTIFIED BY 'pw-noslave';"
            + "GRANT SELECT ON " + replica.database() + ".* TO 'noslave'@'%'");
        CLUSTER.cluster().awaitReplication(Duration.ofSeconds(30));
        ConnectionFactory unprivileged = ConnectionFactories.get(replica.options().mutate()
            .option(ConnectionFactoryOptions.USER, "noslave").option(ConnectionFactoryOptions.PASSWORD, "pw-noslave").build());
        ch.qos.logback.classic.Logger dialectLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(MariaDbDialect.class);
        ListAppender<ILoggingEvent> warnings = new ListAppender<>();
        warnings.start();
        dialectLog.addAppender(warnings);
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica(replica.name(), unprivileged)
            .health(h -> h.interval(this.family.probeInterval()).timeout(this.family.probeTimeout()).maxLagTime(Duration.ofSeconds(5)))
            .listener(this.events)
            .build();
        awaitState("primary", NodeState.UP, FEW_INTERVALS);
        awaitState(replica.name(), NodeState.UP, FEW_INTERVALS);
        Await.until("the primary's role read", FEW_INTERVALS, () -> node("primary").role() == NodeRole.PRIMARY);
        Await.until("probes of '" + replica.name() + "' answered", FEW_INTERVALS, () -> node(replica.name()).lastProbe() != null);
        assertThat(node(replica.name()).role()).as("not read without SLAVE MONITOR").isEqualTo(NodeRole.UNKNOWN);
        assertThat(node(replica.name()).lagTime()).isNull();
        dialectLog.detachAppender(warnings);
        assertThat(warnings.list).extracting(ILoggingEvent::getFormattedMessage).singleElement().asString()
            .startsWith("node '" + replica.name() + "': the probe's user may not read the replication status")
            .contains("GRANT SLAVE MONITOR ON *.* TO <probe user>");
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(replica.port(), true))
            .verifyComplete();
    }
}
