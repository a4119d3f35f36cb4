package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * {@link Routing#retryReads()} against {@code kill -9} of a replica while reads are running their
 * query on it (their connection already lent, so the error comes from the query, not from an
 * acquisition), on a real cluster (primary + 2 replicas, a fresh one per test). Probes are a
 * minute apart, so that nothing but the reads themselves finds out that a node died: the retry's
 * choice is the operator's and the router's alone.
 */
class ReadRetryIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(ReadRetryIntegrationTests.class);

    private static final Duration WITHIN = Duration.ofSeconds(30);

    private static final int READS = 8;

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(2).perTest().build();

    /** One read's story: the node of each connection it was lent, and how it ended. */
    static final class Read {

        final List<String> lentOn = new CopyOnWriteArrayList<>();

        volatile Integer port;

        volatile Throwable error;

        @Override
        public String toString() {
            return "Read{lentOn=" + this.lentOn + ", port=" + this.port + ", error=" + this.error + "}";
        }
    }

    private RoutingConnectionFactory factory() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .health(h -> h.interval(Duration.ofMinutes(1)).timeout(Duration.ofSeconds(2)))
            // generous: connections opened on a loaded machine must not eject a replica before the kill
            .pool(p -> p.maxSize(10).initialSize(READS / 2).maxAcquireTime(Duration.ofSeconds(15)).maxCreateConnectionTime(Duration.ofSeconds(10)));
        for (PostgresNode replica : CLUSTER.replicas()) {
            builder.replica(replica.name(), replica.connectionFactory());
        }
        RoutingConnectionFactory factory = ClusterFixture.closeAfterTest(CLUSTER, builder.build());
        Await.until("every node up", WITHIN, () -> factory.nodes().stream().allMatch(n -> n.state() == NodeState.UP), () -> factory.nodes().toString());
        return factory;
    }

    /** {@code READS} reads under {@code retryReads()}, each sleeping {@code seconds} on its server, started at once. */
    private static List<Read> start(RoutingConnectionFactory factory, int seconds, List<Mono<Void>> done) {
        List<Read> reads = new ArrayList<>();
        for (int i = 0; i < READS; i++) {
            Read read = new Read();
            reads.add(read);
            Mono<Integer> port = Mono.usingWhen(Mono.from(factory.create()), connection -> {
                    read.lentOn.add(RoutedConnection.nodeOf(connection).orElseThrow());
                    return query(connection, seconds);
                }, Connection::close)
                .transform(Routing.retryReads())
                .contextWrite(Routing.readOnly());
            Mono<Void> ended = port.doOnNext(p -> read.port = p).doOnError(e -> read.error = e).onErrorResume(e -> Mono.empty()).then().cache();
            done.add(ended);
            // a test that fails early leaves no read sleeping on a server
            CLUSTER.afterTest(ended.subscribe()::dispose);
        }
        return reads;
    }

    private static Mono<Integer> query(Connection connection, int seconds) {
        return Flux.from(connection.createStatement(sleep(seconds)).execute())
            .flatMap(result -> result.map((row, metadata) -> row.get(0, Integer.class)))
            .single();
    }

    /** The reads' query: it sleeps on a replica only, so that a read the fallback serves ends at once. */
    private static String sleep(int seconds) {
        return "SELECT inet_server_port(), pg_sleep(CASE WHEN pg_is_in_recovery() THEN " + seconds + " ELSE 0 END)";
    }

    /** How many sessions of {@code node} run the reads' sleep now. */
    private static int sleeping(PostgresNode node, int seconds) {
        String count = node.queryString("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '" + sleep(seconds) + "'");
        return count == null ? 0 : Integer.parseInt(count);
    }

    private static long lentFirstOn(List<Read> reads, String node) {
        return reads.stream().filter(r -> !r.lentOn.isEmpty() && r.lentOn.get(0).equals(node)).count();
    }

    private static NodeSnapshot node(RoutingConnectionFactory factory, String name) {
        return factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void shouldRetryReadsWhoseQueryDiedWithAKilledReplicaOnTheOtherOne() {
        RoutingConnectionFactory factory = factory();
        PostgresNode victim = CLUSTER.replicas().get(0);
        PostgresNode survivor = CLUSTER.replicas().get(1);
        List<Mono<Void>> done = new ArrayList<>();
        List<Read> reads = start(factory, 3, done);
        Await.until("every read running its query", WITHIN, () -> reads.stream().allMatch(r -> r.lentOn.size() == 1)
            && lentFirstOn(reads, victim.name()) > 0 && sleeping(victim, 3) == lentFirstOn(reads, victim.name())
            && sleeping(survivor, 3) == lentFirstOn(reads, survivor.name()), reads::toString);
        long onVictim = lentFirstOn(reads, victim.name());

        victim.kill();
        Mono.when(done).block(WITHIN);
        LOGGER.info("kill -9 '{}' under {} reads ({} on it): {}", victim.name(), READS, onVictim, reads);

        assertThat(reads).as("failed reads").allMatch(r -> r.error == null && r.port != null);
        List<Read> retried = reads.stream().filter(r -> r.lentOn.size() == 2).collect(Collectors.toList());
        assertThat(retried).as("retried reads: those that were on the killed replica").hasSize((int) onVictim);
        assertThat(retried).as("retried reads: from the killed replica to the other one")
            .allMatch(r -> r.lentOn.equals(List.of(victim.name(), survivor.name())) && r.port == survivor.port());
        assertThat(reads).as("reads on the survivor ran once").filteredOn(r -> r.lentOn.get(0).equals(survivor.name()))
            .allMatch(r -> r.lentOn.size() == 1 && r.port == survivor.port());
        // no retry even tried the killed replica: an acquisition there would have ejected it
        assertThat(node(factory, victim.name()).state()).as("the killed replica, which no probe has seen dead yet").isEqualTo(NodeState.UP);
    }

    @Test
    void shouldNameBothNodesOnAReadWhoseRetryDiedTooAndServeTheOthersOnThePrimary() {
        RoutingConnectionFactory factory = factory();
        PostgresNode first = CLUSTER.replicas().get(0);
        PostgresNode second = CLUSTER.replicas().get(1);
        List<Mono<Void>> done = new ArrayList<>();
        List<Read> reads = start(factory, 30, done);
        Await.until("every read running its query", WITHIN, () -> reads.stream().allMatch(r -> r.lentOn.size() == 1)
            && lentFirstOn(reads, first.name()) > 0 && sleeping(first, 30) == lentFirstOn(reads, first.name())
            && sleeping(second, 30) == lentFirstOn(reads, second.name()), reads::toString);
        long onFirst = lentFirstOn(reads, first.name());

        first.kill();
        // the reads killed with the first replica now run their retry on the second one
        Await.until("the retries running on the second replica", WITHIN, () -> sleeping(second, 30) == READS, reads::toString);
        second.kill();
        Await.until("every read ended", WITHIN, () -> reads.stream().allMatch(r -> r.port != null || r.error != null),
            () -> reads + " " + factory.nodes());
        LOGGER.info("kill -9 '{}', then '{}' under {} reads ({} on the first): {}", first.name(), second.name(), READS, onFirst, reads);

        // every read that failed, failed twice: its retry died too, on the second replica
        List<Read> failed = reads.stream().filter(r -> r.error != null).collect(Collectors.toList());
        assertThat(failed).as("failed reads").allMatch(r -> r.lentOn.size() == 2 && r.lentOn.get(1).equals(second.name()));
        assertThat(failed).as("failed reads: those retried from the first replica to the second, and maybe more")
            .filteredOn(r -> r.lentOn.get(0).equals(first.name())).hasSize((int) onFirst);
        for (Read read : failed) {
            Throwable error = read.error;
            assertThat(ReadRetry.isConnectionError(error)).as("the driver's own error: %s", error).isTrue();
            assertThat(ReadRetry.FailedOn.find(error).node).as("the marker of %s", error).isEqualTo(second.name());
            assertThat(error.getSuppressed()).anySatisfy(marker -> assertThat(marker)
                .hasMessage("[routing] read failed on node '" + second.name() + "'"));
            Throwable firstFailure = List.of(error.getSuppressed()).stream().filter(s -> !(s instanceof ReadRetry.FailedOn)).findFirst()
                .orElseThrow(() -> new AssertionError("no first failure on " + error));
            assertThat(firstFailure).as("the first failure, of the same type").isExactlyInstanceOf(error.getClass());
            assertThat(ReadRetry.FailedOn.find(firstFailure).node).isEqualTo(read.lentOn.get(0));
        }
        // the reads on the second replica ran their retry avoiding it: the first replica refused and
        // was ejected, then the fallback served them; the router's own retry of that refused
        // acquisition may still have picked the second replica, not known dead yet (failed above)
        assertThat(reads).as("reads first on the second replica").filteredOn(r -> r.lentOn.get(0).equals(second.name()))
            .filteredOn(r -> r.error == null).allMatch(r -> r.lentOn.get(1).equals("primary") && r.port == CLUSTER.primary().port());
    }
}
