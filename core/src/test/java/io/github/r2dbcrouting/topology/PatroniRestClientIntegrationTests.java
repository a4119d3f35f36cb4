package io.github.r2dbcrouting.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PatroniCluster;
import io.github.r2dbcrouting.testkit.PatroniClusterExtension;
import io.github.r2dbcrouting.testkit.PatroniMember;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The REST client against a real Patroni cluster (testkit: etcd + 3 Patroni members, one per class through {@link PatroniClusterExtension}). */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PatroniRestClientIntegrationTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

    @RegisterExtension
    static final PatroniClusterExtension CLUSTER = PatroniClusterExtension.builder().members(3).build();

    private static PatroniCluster cluster() {
        return CLUSTER.cluster();
    }

    private static PatroniClusterState read(PatroniRestClient client) {
        PatroniClusterState state = client.readCluster().block(Duration.ofSeconds(10));
        assertThat(state).isNotNull();
        return state;
    }

    @Test
    @Order(1)
    void shouldReadMembersRolesAddressesAndLag() {
        PatroniMember leader = cluster().awaitMembersStreaming(TIMEOUT);
        PatroniRestClient client = new PatroniRestClient(cluster().restUrls(), REQUEST_TIMEOUT);
        // Patroni publishes a member's state once per loop: wait until both replicas say they run
        Await.until("two running replicas in GET /cluster", TIMEOUT, () -> read(client).readers().size() == 2,
                () -> read(client).members().toString());
        PatroniClusterState state = read(client);
        assertThat(state.members()).extracting(m -> m.name())
            .containsExactly("pg-0", "pg-1", "pg-2");
        assertThat(state.paused()).isFalse();
        var writer = state.writer();
        assertThat(writer).isNotNull();
        assertThat(writer.name()).isEqualTo(leader.name());
        assertThat(writer.host()).isEqualTo(leader.host());
        assertThat(writer.port()).isEqualTo(leader.port());
        assertThat(writer.lagBytes()).isNull();
        assertThat(writer.apiUrl()).isEqualTo(leader.restUrl() + "/patroni");
        for (var reader : state.readers()) {
            PatroniMember member = cluster().member(reader.name());
            assertThat(reader.role()).isEqualTo(PatroniRole.REPLICA);
            assertThat(reader.port()).isEqualTo(member.port());
            assertThat(reader.lagBytes()).as("lag of %s", reader.name()).isNotNull().isGreaterThanOrEqualTo(0L);
            assertThat(reader.noLoadBalance()).isFalse();
            assertThat(reader.noFailover()).isFalse();
        }
    }

    @Test
    @Order(2)
    void shouldFollowSwitchoverWithinAFewPolls() {
        PatroniMember oldLeader = cluster().awaitLeader(TIMEOUT);
        PatroniMember candidate = cluster().members().stream().filter(m -> m != oldLeader).findFirst().orElseThrow();
        PatroniRestClient client = new PatroniRestClient(cluster().restUrls(), REQUEST_TIMEOUT);
        cluster().switchover(candidate);
        long seen = System.nanoTime();
        Await.until("GET /cluster naming " + candidate.name() + " the writer", TIMEOUT,
                () -> writerName(read(client)) != null && candidate.name().equals(writerName(read(client))));
        System.out.println("Patroni REST client saw the new leader " + (System.nanoTime() - seen) / 1_000_000
                + " ms after the switchover call returned");
        cluster().awaitMembersStreaming(TIMEOUT);
    }

    private static @Nullable String writerName(PatroniClusterState state) {
        var writer = state.writer();
        return writer == null ? null : writer.name();
    }

    @Test
    @Order(3)
    void shouldFallBackToNextMemberWhenFirstUrlDoesNotAnswer() {
        PatroniMember leader = cluster().awaitLeader(TIMEOUT);
        PatroniMember stopped = cluster().members().stream().filter(m -> m != leader).findFirst().orElseThrow();
        List<String> urls = new ArrayList<>();
        urls.add(stopped.restUrl());
        cluster().members().stream().filter(m -> m != stopped).forEach(m -> urls.add(m.restUrl()));
        PatroniRestClient client = new PatroniRestClient(urls, REQUEST_TIMEOUT);
        stopped.stop();
        Await.until(stopped.name() + " gone from GET /cluster", TIMEOUT,
                () -> read(client).members().stream().noneMatch(m -> m.name().equals(stopped.name())));
        PatroniClusterState state = read(client);
        assertThat(state.sourceUrl()).isNotEqualTo(stopped.restUrl());
        assertThat(writerName(state)).isEqualTo(leader.name());
        stopped.start();
        cluster().awaitMembersStreaming(TIMEOUT);
    }

}
