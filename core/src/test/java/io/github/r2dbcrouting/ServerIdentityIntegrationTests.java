package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.Backend;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A node is known by what its server says it is, not by its URL, on real servers: a replica URL
 * that reaches the primary's own server (one database on a laptop, a cloud reader endpoint with
 * no reader) is an alias, and writes go on; two different servers out of recovery (an old
 * primary restarted after a promotion) are a split brain, and writes stop.
 */
class ServerIdentityIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(ServerIdentityIntegrationTests.class);

    private static final Duration INTERVAL = Duration.ofMillis(500);

    private static final Duration TIMEOUT = Duration.ofMillis(500);

    /** Generous bound for "within a few probe intervals" on a loaded 2-core machine. */
    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    /** A login role with no privilege but on its own table: what an application usually gets. */
    private static final String PLAIN_USER = "plain_app";

    private static final String PLAIN_PASSWORD = "plain-app-S3cret!";

    /** One replica for the split-brain test to promote; the other tests leave it alone. */
    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(1)
        .schema("CREATE TABLE writes (id bigint PRIMARY KEY);"
            + "CREATE ROLE " + PLAIN_USER + " LOGIN PASSWORD '" + PLAIN_PASSWORD + "';"
            + "GRANT SELECT, INSERT ON writes TO " + PLAIN_USER)
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

    /** A factory for {@code node} that logs in as the unprivileged role. */
    private static ConnectionFactory plain(PostgresNode node) {
        return new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
            .host(node.host())
            .port(node.port())
            .database(node.database())
            .username(PLAIN_USER)
            .password(PLAIN_PASSWORD)
            .connectTimeout(Duration.ofSeconds(2))
            .build());
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

    /** Waits until every node has answered {@code probes} more probes from now. */
    private void awaitProbes(int probes) {
        Instant after = Instant.now().plus(INTERVAL.multipliedBy(probes));
        Await.until(probes + " more probes of every node", FEW_INTERVALS,
            () -> this.factory.nodes().stream().allMatch(n -> n.lastProbe() != null && n.lastProbe().isAfter(after)),
            () -> this.factory.nodes().toString());
    }

    @Test
    void shouldWriteOnThePrimaryAndReadOnTheAliasWhenTheReplicaUrlReachesThePrimary() {
        PostgresNode server = CLUSTER.primary();
        // one database, two names, as on a laptop: the "replica" is the primary's own URL
        this.factory = builder()
            .primary("primary", plain(server))
            .replica("reader", plain(server))
            .build();
        Await.until("the alias detected", FEW_INTERVALS, () -> "primary".equals(node("reader").aliasOf()),
            () -> this.factory.nodes() + this.events.toString());

        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();
        StepVerifier.create(Db.update(this.factory.writes(), "INSERT INTO writes (id) VALUES (2)")).expectNext(1L).verifyComplete();
        // reads go to the alias, in a read-only session: they see every write, and a write slipped into one fails
        StepVerifier.create(Db.strings(this.factory, "SELECT count(*) || ' ' || current_setting('transaction_read_only') FROM writes")
                .contextWrite(Routing.readOnly()))
            .expectNext(List.of("2 on"))
            .verifyComplete();
        // a bounded-staleness read with a retry takes the other read path: the alias has no lag, so it serves it (no fallback)
        StepVerifier.create(Db.strings(this.factory, "SELECT count(*) || ' ' || current_setting('transaction_read_only') FROM writes")
                .transform(Routing.retryReads())
                .contextWrite(Routing.readOnly(Duration.ofMillis(100))))
            .expectNext(List.of("2 on"))
            .verifyComplete();
        StepVerifier.create(Db.update(this.factory.reads(), "INSERT INTO writes (id) VALUES (3)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcException.class)
                .hasMessageContaining("read-only transaction"))
            .verify(Duration.ofSeconds(5));

        awaitProbes(3);
        NodeSnapshot primary = node("primary");
        NodeSnapshot reader = node("reader");
        LOGGER.info("one server behind two names: {} / {}; events {}", primary, reader, this.events);
        assertThat(primary.writer()).isTrue();
        assertThat(primary.aliasOf()).isNull();
        assertThat(primary.server()).matches("-?\\d+@\\d{4}-\\d\\d-\\d\\dT.*Z");
        assertThat(reader.server()).isEqualTo(primary.server());
        assertThat(reader.aliasOf()).isEqualTo("primary");
        assertThat(reader.state()).isEqualTo(NodeState.UP);
        assertThat(reader.role()).isEqualTo(NodeRole.PRIMARY);
        assertThat(this.all).as("one event, announced once, not per probe").extracting(RoutingEvent::type)
            .containsExactly(RoutingEvent.Type.ALIAS_DETECTED);
        assertThat(this.events.first(RoutingEvent.Type.ALIAS_DETECTED, "reader", 0).event().message())
            .isEqualTo("[routing] node 'reader' is another name for the server of 'primary' (server " + primary.server()
                + "): one server, not two; writes stay on 'primary', reads may use 'reader' (read-only sessions)");
        assertThat(count(RoutingEvent.Type.SPLIT_BRAIN)).as("%s", this.events).isZero();
        assertThat(count(RoutingEvent.Type.PRIMARY_CHANGED)).as("%s", this.events).isZero();
        assertThat(count(RoutingEvent.Type.FALLBACK_USED)).as("reads had a node: %s", this.events).isZero();
        assertThat(server.queryString("SELECT count(*) FROM writes")).isEqualTo("2");
    }

    @Test
    void shouldNoticeARestartOfTheAliasedServerWithoutCallingItASplitBrain() {
        PostgresNode server = CLUSTER.primary();
        this.factory = builder()
            .primary("primary", server.connectionFactory())
            .replica("reader", server.connectionFactory())
            .build();
        Await.until("the alias detected", FEW_INTERVALS, () -> "primary".equals(node("reader").aliasOf()),
            () -> this.factory.nodes() + this.events.toString());
        String before = node("primary").server();

        server.restart();
        Await.until("both names report the restarted server", FEW_INTERVALS, () -> {
            List<NodeSnapshot> nodes = this.factory.nodes();
            return nodes.stream().allMatch(n -> n.state() == NodeState.UP && n.server() != null && !n.server().equals(before))
                && "primary".equals(node("reader").aliasOf());
        }, () -> this.factory.nodes() + this.events.toString());
        Await.until("writes accepted after the restart", FEW_INTERVALS,
            () -> Db.update(this.factory, "INSERT INTO writes (id) VALUES (1) ON CONFLICT DO NOTHING")
                .onErrorReturn(-1L).block(Duration.ofSeconds(5)) >= 0);
        awaitProbes(2);
        String after = node("primary").server();
        LOGGER.info("restart of the aliased server: identity {} -> {}; events {}", before, after, this.events);
        assertThat(after.substring(0, after.indexOf('@'))).as("same data directory").isEqualTo(before.substring(0, before.indexOf('@')));
        assertThat(node("reader").server()).isEqualTo(after);
        assertThat(count(RoutingEvent.Type.SPLIT_BRAIN)).as("%s", this.events).isZero();
        assertThat(count(RoutingEvent.Type.ALIAS_DETECTED)).as("%s", this.events).isEqualTo(1);
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(server.port(), false))
            .verifyComplete();
    }

    @Test
    void shouldRefuseWritesWhenAnOldPrimaryComesBackBesideThePromotedReplica() {
        PostgresNode old = CLUSTER.primary();
        PostgresNode promoted = CLUSTER.replicas().get(0);
        this.factory = builder()
            .primary("primary", old.connectionFactory())
            .replica(promoted.name(), promoted.connectionFactory())
            .build();
        Await.until("every role observed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.server() != null),
            () -> this.factory.nodes().toString());
        assertThat(node(promoted.name()).server()).as("a replica is another server than its primary").isNotEqualTo(node("primary").server());

        old.kill();
        Await.until("'primary' ejected", FEW_INTERVALS, () -> node("primary").state() == NodeState.EJECTED);
        promoted.promote();
        Await.until("writes follow the promotion", FEW_INTERVALS, () -> node(promoted.name()).writer(), () -> this.factory.nodes().toString());
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();

        // the old primary is restarted as it was: a second server out of recovery, with the same system identifier
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
        NodeSnapshot oldNode = node("primary");
        NodeSnapshot newNode = node(promoted.name());
        LOGGER.info("split brain after a promotion: {} / {}", oldNode, newNode);
        assertThat(oldNode.server()).isNotEqualTo(newNode.server());
        assertThat(oldNode.server().substring(0, oldNode.server().indexOf('@')))
            .as("one system identifier: only the start time tells the two apart")
            .isEqualTo(newNode.server().substring(0, newNode.server().indexOf('@')));
        assertThat(oldNode.aliasOf()).isNull();
        assertThat(newNode.aliasOf()).isNull();
        assertThat(count(RoutingEvent.Type.ALIAS_DETECTED)).as("%s", this.events).isZero();
        assertThat(old.queryString("SELECT count(*) FROM writes")).as("the refused write landed nowhere").isEqualTo("0");
        assertThat(promoted.queryString("SELECT count(*) FROM writes")).isEqualTo("1");
    }

    @Test
    void shouldReadTheIdentityOncePerProbeConnectionNotOnEveryProbe() throws Exception {
        assumeTrue(CLUSTER.cluster().backend() == Backend.LOCAL, "reads the local server's log");
        PostgresNode server = CLUSTER.primary();
        server.execute("ALTER SYSTEM SET log_statement = 'all'");
        server.execute("SELECT pg_reload_conf()");
        Path log = CLUSTER.cluster().directory().resolve(server.name()).resolve("postgresql.log");
        long from = Files.size(log);
        this.factory = builder().primary("primary", plain(server)).build();
        Await.until("the server identified", FEW_INTERVALS, () -> node("primary").server() != null);
        awaitProbes(4);
        String logged;
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            file.seek(from);
            byte[] bytes = new byte[(int) (file.length() - from)];
            file.readFully(bytes);
            logged = new String(bytes, StandardCharsets.UTF_8);
        }
        long identities = logged.lines().filter(line -> line.contains("FROM pg_control_system()")).count();
        long probes = logged.lines().filter(line -> line.contains("SELECT pg_is_in_recovery(), ")).count();
        LOGGER.info("{} probes, {} identity reads on one probe connection", probes, identities);
        assertThat(probes).isGreaterThanOrEqualTo(4);
        assertThat(identities).as("one probe connection, one identity read").isEqualTo(1);
    }
}
