package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import io.r2dbc.spi.R2dbcException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A MariaDB node is known by what its server says it is ({@code @@server_id} and when it started),
 * not by its URL, on real servers: a replica URL that reaches the primary's own server is an
 * alias, and writes go on; two different servers that are both writable (an old primary restarted
 * after a promotion) are a split brain, and writes stop. A fresh cluster per test.
 */
class MariaDbServerIdentityIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(MariaDbServerIdentityIntegrationTests.class);

    private static final Duration INTERVAL = Duration.ofMillis(800);

    private static final Duration TIMEOUT = Duration.ofMillis(800);

    /** Generous bound for "within a few probe intervals" on a loaded 2-core machine. */
    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
        .replicas(1)
        .schema("CREATE TABLE writes (id BIGINT PRIMARY KEY)")
        .perTest()
        .build();

    private RoutingConnectionFactory factory;

    private final EventLog events = new EventLog();

    private final List<RoutingEvent> all = new CopyOnWriteArrayList<>();

    @BeforeEach
    void closeFactoryAfterTest() {
        CLUSTER.afterTest(() -> {
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            }
        });
    }

    private RoutingConnectionFactoryBuilder builder() {
        return RoutingConnectionFactory.builder()
            .health(h -> h.interval(INTERVAL).timeout(TIMEOUT))
            .pool(p -> p.maxSize(5).maxAcquireTime(Duration.ofSeconds(3)).maxCreateConnectionTime(Duration.ofSeconds(1)))
            .listener(this.events)
            .listener(this.all::add);
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    private long count(RoutingEvent.Type type) {
        return this.all.stream().filter(e -> e.type() == type).count();
    }

    private static String serverId(String server) {
        return server.substring(0, server.indexOf('@'));
    }

    @Test
    void shouldWriteOnThePrimaryAndReadOnTheAliasWhenTheReplicaUrlReachesThePrimary() {
        MariaDbNode server = CLUSTER.primary();
        this.factory = builder()
            .primary("primary", server.connectionFactory())
            .replica("reader", server.connectionFactory())
            .build();
        Await.until("the alias detected", FEW_INTERVALS, () -> "primary".equals(node("reader").aliasOf()),
            () -> this.factory.nodes() + this.events.toString());

        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();
        StepVerifier.create(Db.update(this.factory.writes(), "INSERT INTO writes (id) VALUES (2)")).expectNext(1L).verifyComplete();
        // reads go to the alias, in a read-only session: they see every write, and a write slipped into one fails
        StepVerifier.create(Db.strings(this.factory, "SELECT CONCAT(COUNT(*), ' ', @@tx_read_only) FROM writes")
                .contextWrite(Routing.readOnly()))
            .expectNext(List.of("2 ON"))
            .verifyComplete();
        StepVerifier.create(Db.update(this.factory.reads(), "INSERT INTO writes (id) VALUES (3)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcException.class).hasMessageContaining("READ ONLY"))
            .verify(Duration.ofSeconds(5));

        NodeSnapshot primary = node("primary");
        NodeSnapshot reader = node("reader");
        LOGGER.info("one MariaDB server behind two names: {} / {}; events {}", primary, reader, this.events);
        assertThat(primary.writer()).isTrue();
        assertThat(primary.server()).isEqualTo(server.serverId() + "@" + primary.server().substring(primary.server().indexOf('@') + 1))
            .matches("\\d+@\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
        assertThat(reader.server()).isEqualTo(primary.server());
        assertThat(reader.aliasOf()).isEqualTo("primary");
        assertThat(reader.state()).isEqualTo(NodeState.UP);
        assertThat(this.all).as("one event, announced once, not per probe").extracting(RoutingEvent::type)
            .containsExactly(RoutingEvent.Type.ALIAS_DETECTED);
        assertThat(count(RoutingEvent.Type.SPLIT_BRAIN)).as("%s", this.events).isZero();
        assertThat(server.queryString("SELECT COUNT(*) FROM writes")).isEqualTo("2");
    }

    @Test
    void shouldTellAReplicaFromItsPrimaryAndNoticeARestartOfTheAliasedServerWithoutCallingItASplitBrain() {
        MariaDbNode server = CLUSTER.primary();
        MariaDbNode replica = CLUSTER.replicas().get(0);
        this.factory = builder()
            .primary("primary", server.connectionFactory())
            .replica("reader", server.connectionFactory())
            .replica(replica.name(), replica.connectionFactory())
            .build();
        Await.until("the alias detected and every server known", FEW_INTERVALS,
            () -> "primary".equals(node("reader").aliasOf()) && node(replica.name()).server() != null,
            () -> this.factory.nodes() + this.events.toString());
        String before = node("primary").server();
        assertThat(node(replica.name()).server()).as("a replica is another server than its primary").isNotEqualTo(before);
        assertThat(node(replica.name()).aliasOf()).isNull();

        server.restart();
        Await.until("both names report the restarted server", FEW_INTERVALS, () -> {
            String now = node("primary").server();
            return now != null && !now.equals(before) && now.equals(node("reader").server()) && node("primary").state() == NodeState.UP
                && "primary".equals(node("reader").aliasOf());
        }, () -> this.factory.nodes() + this.events.toString());
        Await.until("writes accepted after the restart", FEW_INTERVALS,
            () -> Db.update(this.factory, "INSERT IGNORE INTO writes (id) VALUES (1)").onErrorReturn(-1L).block(Duration.ofSeconds(5)) >= 0);
        String after = node("primary").server();
        LOGGER.info("restart of the aliased MariaDB server: identity {} -> {}; events {}", before, after, this.events);
        assertThat(serverId(after)).as("the same server_id, a later start").isEqualTo(serverId(before));
        assertThat(count(RoutingEvent.Type.SPLIT_BRAIN)).as("%s", this.events).isZero();
        assertThat(count(RoutingEvent.Type.ALIAS_DETECTED)).as("%s", this.events).isEqualTo(1);
    }

    @Test
    void shouldRefuseWritesWhenAnOldPrimaryComesBackWritableBesideThePromotedReplica() {
        MariaDbNode old = CLUSTER.primary();
        MariaDbNode promoted = CLUSTER.replicas().get(0);
        this.factory = builder()
            .primary("primary", old.connectionFactory())
            .replica(promoted.name(), promoted.connectionFactory())
            .build();
        Await.until("every server known", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.server() != null),
            () -> this.factory.nodes().toString());

        old.kill();
        Await.until("'primary' ejected", FEW_INTERVALS, () -> node("primary").state() == NodeState.EJECTED);
        promoted.promote();
        Await.until("writes follow the promotion", FEW_INTERVALS, () -> node(promoted.name()).writer(), () -> this.factory.nodes().toString());
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();

        // the old primary comes back as it was: writable, beside the promoted replica
        long restartedAt = System.nanoTime();
        old.restart();
        Await.until("split brain reported", FEW_INTERVALS, () -> this.events.has(RoutingEvent.Type.SPLIT_BRAIN, null, restartedAt),
            () -> this.factory.nodes() + this.events.toString());
        String expected = "[routing] split brain: 'primary' and '" + promoted.name()
            + "' all report they are primary; writes go to none until one steps down";
        assertThat(this.events.first(RoutingEvent.Type.SPLIT_BRAIN, null, restartedAt).event().message()).isEqualTo(expected);
        assertThat(this.factory.nodes()).noneMatch(NodeSnapshot::writer);
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (2)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PrimaryUnavailableException.class).hasMessage(expected))
            .verify(Duration.ofSeconds(5));
        LOGGER.info("MariaDB split brain after a promotion: {}", this.factory.nodes());
        assertThat(serverId(node("primary").server())).isNotEqualTo(serverId(node(promoted.name()).server()));
        assertThat(count(RoutingEvent.Type.ALIAS_DETECTED)).as("%s", this.events).isZero();
        assertThat(old.queryString("SELECT COUNT(*) FROM writes")).as("the refused write landed nowhere").isEqualTo("0");
        assertThat(promoted.queryString("SELECT COUNT(*) FROM writes")).isEqualTo("1");
    }
}
