package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A node is known by what its server says it is, not by its URL, on real servers of each family:
 * a replica URL that reaches the primary's own server (one database on a laptop, a cloud reader
 * endpoint with no reader) is an alias, and writes go on; a restart of that server is noticed
 * without calling it a split brain; two different servers that both take writes (an old primary
 * restarted after a promotion) are a split brain, and writes stop. Each family's class gives the
 * cluster: a primary and one replica, a fresh one per test.
 */
abstract class ServerIdentitySuite extends FamilySuite {

    private static final Logger LOGGER = Loggers.getLogger(ServerIdentitySuite.class);

    static final String SCHEMA = "CREATE TABLE writes (id BIGINT PRIMARY KEY)";

    private static final AtomicLong IDS = new AtomicLong(100);

    ServerIdentitySuite(Family family) {
        super(family);
    }

    /** How the alias test logs in to the primary's server; by default as the cluster's user. */
    ConnectionFactory aliasLogin(DatabaseNode server) {
        return server.connectionFactory();
    }

    /** What the family says of two servers out of one promotion: their identifiers (before the {@code @}). */
    abstract void assertIdentifiersOfAPromotion(String oldPrimary, String promoted);

    RoutingConnectionFactoryBuilder identityBuilder() {
        return RoutingConnectionFactory.builder()
            .health(h -> h.interval(this.family.probeInterval()).timeout(this.family.probeTimeout()))
            .pool(p -> p.maxSize(5).maxAcquireTime(Duration.ofSeconds(3)).maxCreateConnectionTime(Duration.ofSeconds(1)))
            .listener(this.events);
    }

    long count(RoutingEvent.Type type) {
        return this.events.all().stream().filter(e -> e.event().type() == type).count();
    }

    static String identifier(String server) {
        return server.substring(0, server.indexOf('@'));
    }

    @Test
    void shouldWriteOnThePrimaryAndReadOnTheAliasWhenTheReplicaUrlReachesThePrimary() {
        DatabaseNode server = this.family.primary();
        // one database, two names, as on a laptop: the "replica" is the primary's own URL
        this.factory = identityBuilder()
            .primary("primary", aliasLogin(server))
            .replica("reader", aliasLogin(server))
            .build();
        Await.until("the alias detected", FEW_INTERVALS, () -> "primary".equals(node("reader").aliasOf()),
            () -> this.factory.nodes() + this.events.toString());

        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();
        StepVerifier.create(Db.update(this.factory.writes(), "INSERT INTO writes (id) VALUES (2)")).expectNext(1L).verifyComplete();
        // reads go to the alias, in a read-only session: they see every write, and a write slipped into one fails
        StepVerifier.create(Db.strings(this.factory, "SELECT COUNT(*) FROM writes").contextWrite(Routing.readOnly()))
            .expectNext(List.of("2"))
            .verifyComplete();
        StepVerifier.create(Db.strings(this.factory, this.family.readOnlySessionQuery()).contextWrite(Routing.readOnly()))
            .expectNext(List.of("on"))
            .verifyComplete();
        // a bounded-staleness read with a retry takes the other read path: the alias has no lag, so it serves it (no fallback)
        StepVerifier.create(Db.strings(this.factory, "SELECT COUNT(*) FROM writes")
                .transform(Routing.retryReads())
                .contextWrite(Routing.readOnly(Duration.ofMillis(100))))
            .expectNext(List.of("2"))
            .verifyComplete();
        StepVerifier.create(Db.update(this.factory.reads(), "INSERT INTO writes (id) VALUES (3)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcException.class)
                .hasMessageContaining(this.family.refusedInReadOnlySession()))
            .verify(Duration.ofSeconds(5));

        NodeSnapshot primary = node("primary");
        NodeSnapshot reader = node("reader");
        LOGGER.info("{}: one server behind two names: {} / {}; events {}", this.family, primary, reader, this.events);
        assertThat(primary.writer()).isTrue();
        assertThat(primary.aliasOf()).isNull();
        assertThat(primary.server()).matches("-?\\d+@\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z");
        assertThat(reader.server()).isEqualTo(primary.server());
        assertThat(reader.aliasOf()).isEqualTo("primary");
        assertThat(reader.state()).isEqualTo(NodeState.UP);
        assertThat(reader.role()).isEqualTo(NodeRole.PRIMARY);
        assertThat(this.events.all()).as("one event, announced once, not per probe").extracting(e -> e.event().type())
            .containsExactly(RoutingEvent.Type.ALIAS_DETECTED);
        assertThat(this.events.first(RoutingEvent.Type.ALIAS_DETECTED, "reader", 0).event().message())
            .isEqualTo("[routing] node 'reader' is another name for the server of 'primary' (server " + primary.server()
                + "): one server, not two; writes stay on 'primary', reads may use 'reader' (read-only sessions)");
        assertThat(count(RoutingEvent.Type.FALLBACK_USED)).as("reads had a node: %s", this.events).isZero();
        assertThat(server.queryString("SELECT COUNT(*) FROM writes")).isEqualTo("2");
    }

    @Test
    void shouldTellAReplicaFromItsPrimaryAndNoticeARestartOfTheAliasedServerWithoutCallingItASplitBrain() {
        DatabaseNode server = this.family.primary();
        DatabaseNode replica = this.family.replica(0);
        this.factory = identityBuilder()
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

        // MariaDB knows a start to the second: a restart within the second the server started in
        // would look like the same start, so the restart waits for the next second
        Instant started = Instant.parse(before.substring(before.indexOf('@') + 1));
        Await.until("a second past the server's start", FEW_INTERVALS, () -> Instant.now().isAfter(started.plusSeconds(1)));
        server.restart();
        Await.until("both names report the restarted server", FEW_INTERVALS, () -> {
            String now = node("primary").server();
            return now != null && !now.equals(before) && now.equals(node("reader").server()) && node("primary").state() == NodeState.UP
                && "primary".equals(node("reader").aliasOf());
        }, () -> this.factory.nodes() + this.events.toString());
        Await.until("writes accepted after the restart", FEW_INTERVALS,
            () -> Db.update(this.factory, "INSERT INTO writes (id) VALUES (" + IDS.incrementAndGet() + ")").onErrorReturn(-1L)
                .block(Duration.ofSeconds(5)) >= 0);
        String after = node("primary").server();
        LOGGER.info("{}: restart of the aliased server: identity {} -> {}; events {}", this.family, before, after, this.events);
        assertThat(identifier(after)).as("the same server, a later start").isEqualTo(identifier(before));
        assertThat(node("reader").server()).isEqualTo(after);
        assertThat(count(RoutingEvent.Type.SPLIT_BRAIN)).as("%s", this.events).isZero();
        assertThat(count(RoutingEvent.Type.ALIAS_DETECTED)).as("%s", this.events).isEqualTo(1);
        StepVerifier.create(Db.whoServes(this.factory.reads()))
            .expectNextMatches(served -> served.port() == server.port() || served.port() == replica.port())
            .verifyComplete();
    }

    @Test
    void shouldRefuseWritesWhenAnOldPrimaryComesBackWritableBesideThePromotedReplica() {
        DatabaseNode old = this.family.primary();
        DatabaseNode promoted = this.family.replica(0);
        this.factory = identityBuilder()
            .primary("primary", old.connectionFactory())
            .replica(promoted.name(), promoted.connectionFactory())
            .build();
        Await.until("every server known", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.server() != null),
            () -> this.factory.nodes().toString());
        assertThat(node(promoted.name()).server()).as("a replica is another server than its primary").isNotEqualTo(node("primary").server());

        old.kill();
        Await.until("'primary' ejected", FEW_INTERVALS, () -> node("primary").state() == NodeState.EJECTED);
        promoted.promote();
        Await.until("writes follow the promotion", FEW_INTERVALS, () -> node(promoted.name()).writer(), () -> this.factory.nodes().toString());
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();

        // the old primary comes back as it was: a second server taking writes
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
        LOGGER.info("{}: split brain after a promotion: {} / {}", this.family, oldNode, newNode);
        assertThat(oldNode.server()).isNotEqualTo(newNode.server());
        assertIdentifiersOfAPromotion(oldNode.server(), newNode.server());
        assertThat(oldNode.aliasOf()).isNull();
        assertThat(newNode.aliasOf()).isNull();
        assertThat(count(RoutingEvent.Type.ALIAS_DETECTED)).as("%s", this.events).isZero();
        assertThat(old.queryString("SELECT COUNT(*) FROM writes")).as("the refused write landed nowhere").isEqualTo("0");
        assertThat(promoted.queryString("SELECT COUNT(*) FROM writes")).isEqualTo("1");
    }
}
