package io.github.r2dbcrouting.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The example as a user starts it: no database configured, so it starts its own cluster (primary
 * and two replicas), creates the schema on the primary and serves HTTP on a random port.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class NotesApplicationIntegrationTests {

    @LocalServerPort
    int port;

    @Autowired
    PostgresCluster cluster;

    @Autowired
    RoutingConnectionFactory routing;

    private WebTestClient client() {
        return WebTestClient.bindToServer().baseUrl("http://localhost:" + this.port).responseTimeout(Duration.ofSeconds(10)).build();
    }

    @Test
    void shouldWriteOnThePrimaryAndReadOnTheReplicas() {
        WebTestClient client = client();
        NoteService.Served<Note> created = client.post().uri("/notes").contentType(MediaType.APPLICATION_JSON)
            .bodyValue(Map.of("text", "routed")).exchange()
            .expectStatus().isCreated()
            .expectBody(new ParameterizedTypeReference<NoteService.Served<Note>>() { })
            .returnResult().getResponseBody();
        assertThat(created.servedBy()).isEqualTo(new ServedBy("primary", this.cluster.primary().port(), false));
        assertThat(created.value().createdAt()).isNotNull();
        long id = created.value().id();

        this.cluster.awaitReplication(Duration.ofSeconds(10));

        List<Integer> replicaPorts = this.cluster.replicas().stream().map(PostgresNode::port).toList();
        for (int i = 0; i < 4; i++) {
            NoteService.Served<Note> read = client.get().uri("/notes/{id}", id).exchange()
                .expectStatus().isOk()
                .expectBody(new ParameterizedTypeReference<NoteService.Served<Note>>() { })
                .returnResult().getResponseBody();
            assertThat(read.value().text()).isEqualTo("routed");
            assertThat(read.servedBy().inRecovery()).isTrue();
            assertThat(replicaPorts).contains(read.servedBy().port());
            assertThat(read.servedBy().node()).startsWith("replica-");
        }

        NoteService.Served<List<Note>> latest = client.get().uri("/notes").exchange()
            .expectStatus().isOk()
            .expectBody(new ParameterizedTypeReference<NoteService.Served<List<Note>>>() { })
            .returnResult().getResponseBody();
        assertThat(latest.value()).extracting(Note::text).contains("routed");
        assertThat(latest.servedBy().inRecovery()).as("the read-only transaction ran on a replica").isTrue();
        assertThat(latest.servedBy().node()).as("the transaction's connection says it came from a replica").startsWith("replica-");
    }

    @Test
    void shouldShowWhereAQueryLands() {
        WebTestClient client = client();
        client.get().uri("/db/served-by").exchange().expectStatus().isOk()
            .expectBody(ServedBy.class).isEqualTo(new ServedBy("primary", this.cluster.primary().port(), false));
        ServedBy read = client.get().uri("/db/served-by?readOnly=true").exchange().expectStatus().isOk()
            .expectBody(ServedBy.class).returnResult().getResponseBody();
        assertThat(read.inRecovery()).isTrue();
        assertThat(read.node()).as("the connection says which node it came from").startsWith("replica-");
    }

    @Test
    void shouldShowTheNodeSnapshotAndHealth() {
        WebTestClient client = client();
        client.get().uri("/db/nodes").exchange().expectStatus().isOk()
            .expectBody()
            .jsonPath("$[0].name").isEqualTo("primary")
            .jsonPath("$[0].writer").isEqualTo(true)
            .jsonPath("$[1].name").isEqualTo("replica-1")
            .jsonPath("$[2].name").isEqualTo("replica-2");
        client.get().uri("/actuator/health").exchange().expectStatus().isOk()
            .expectBody()
            .jsonPath("$.status").isEqualTo("UP")
            .jsonPath("$.components.r2dbcRouting.details.nodes.replica-1.role").exists()
            .jsonPath("$.components.r2dbcRouting.details.writer").isEqualTo("primary");
        assertThat(this.routing.name()).isEqualTo("notes");
    }

    @Test
    void shouldReadItsOwnWriteInTheNextRequestThroughTheConsistencyHeaderWhileReplicasLag() {
        WebTestClient client = client();
        this.cluster.replicas().forEach(PostgresNode::pauseReplay);
        try {
            var created = client.post().uri("/notes").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(Map.of("text", "mine")).exchange()
                .expectStatus().isCreated()
                .expectHeader().valueMatches(ConsistencyFilter.HEADER, "v1\\.[0-9A-F]+")
                .expectBody(new ParameterizedTypeReference<NoteService.Served<Note>>() { })
                .returnResult();
            String token = created.getResponseHeaders().getFirst(ConsistencyFilter.HEADER);
            long id = created.getResponseBody().value().id();

            // the next request carries the token: it sees the write, from the primary while replicas lag
            NoteService.Served<Note> mine = client.get().uri("/notes/{id}", id).header(ConsistencyFilter.HEADER, token).exchange()
                .expectStatus().isOk()
                .expectBody(new ParameterizedTypeReference<NoteService.Served<Note>>() { })
                .returnResult().getResponseBody();
            assertThat(mine.value().text()).isEqualTo("mine");
            assertThat(mine.servedBy().inRecovery()).isFalse();
            assertThat(mine.servedBy().node()).isEqualTo("primary");

            // without the token a read goes to a lagging replica and does not find it: the lag is real
            client.get().uri("/notes/{id}", id).exchange().expectStatus().isNotFound();
        } finally {
            this.cluster.replicas().forEach(PostgresNode::resumeReplay);
            this.cluster.awaitReplication(Duration.ofSeconds(30));
        }
        client.get().uri("/notes/1").header(ConsistencyFilter.HEADER, "v2.nonsense").exchange().expectStatus().isBadRequest();
    }

    @Test
    void shouldRejectABlankNote() {
        client().post().uri("/notes").contentType(MediaType.APPLICATION_JSON).bodyValue(Map.of("text", " ")).exchange()
            .expectStatus().isBadRequest();
    }
}
