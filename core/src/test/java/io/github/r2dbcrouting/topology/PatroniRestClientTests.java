package io.github.r2dbcrouting.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * The client's HTTP behaviour against stub servers on loopback (pure client logic: fallback,
 * timeouts, errors); {@link PatroniRestClientIntegrationTests} reads a real Patroni cluster.
 */
class PatroniRestClientTests {

    private static final String CLUSTER = """
            {"members": [{"name": "pg-0", "role": "leader", "state": "running", "host": "127.0.0.1", "port": 5432}]}
            """;

    /** Generous: the test machine may be heavily loaded, and a stub that answers must not time out. */
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();

    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stopServers() {
        release.countDown();
        servers.forEach(s -> s.stop(0));
    }

    /** A server answering every request with {@code status} and {@code body}; records each request's auth header. */
    private String server(int status, String body, List<String> authorizations) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            authorizations.add(exchange.getRequestURI().getPath() + " "
                    + exchange.getRequestHeaders().getFirst("Authorization"));
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        servers.add(server);
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private String server(int status, String body) throws IOException {
        return server(status, body, new CopyOnWriteArrayList<>());
    }

    /** A server that accepts the request and never answers (until the test ends). */
    private String silentServer() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        servers.add(server);
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** A loopback port nobody listens on. */
    private static String closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + socket.getLocalPort();
        }
    }

    @Test
    void shouldReadClusterFromFirstUrl() throws IOException {
        List<String> requests = new CopyOnWriteArrayList<>();
        String url = server(200, CLUSTER, requests);
        PatroniRestClient client = new PatroniRestClient(List.of(url + "/"), TIMEOUT);
        StepVerifier.create(client.readCluster())
            .assertNext(state -> {
                assertThat(state.writer()).extracting(PatroniMember::name).isEqualTo("pg-0");
                assertThat(state.sourceUrl()).isEqualTo(url);
            })
            .verifyComplete();
        assertThat(requests).containsExactly("/cluster null");
    }

    @Test
    void shouldFallBackToNextUrlAndStartThereNextTime() throws IOException {
        String dead = closedPort();
        String silent = silentServer();
        List<String> requests = new CopyOnWriteArrayList<>();
        String good = server(200, CLUSTER, requests);
        PatroniRestClient client = new PatroniRestClient(List.of(dead, silent, good), TIMEOUT);
        long begin = System.nanoTime();
        StepVerifier.create(client.readCluster())
            .assertNext(state -> assertThat(state.sourceUrl()).isEqualTo(good))
            .verifyComplete();
        assertThat(Duration.ofNanos(System.nanoTime() - begin)).as("one timeout, not more")
            .isLessThan(TIMEOUT.multipliedBy(3));
        // the member that answered is asked first from now on: no second timeout
        begin = System.nanoTime();
        StepVerifier.create(client.readCluster())
            .assertNext(state -> assertThat(state.sourceUrl()).isEqualTo(good))
            .verifyComplete();
        assertThat(Duration.ofNanos(System.nanoTime() - begin)).isLessThan(TIMEOUT);
        assertThat(requests).hasSize(2);
    }

    @Test
    void shouldNameEveryUrlAndWhyWhenNoneAnswers() throws IOException {
        String dead = closedPort();
        String silent = silentServer();
        String notPatroni = server(200, "<html>It works!</html>");
        String notFound = server(404, "{\"members\": []}");
        PatroniRestClient client = new PatroniRestClient(List.of(dead, silent, notPatroni, notFound), TIMEOUT);
        StepVerifier.create(client.readCluster())
            .expectErrorSatisfies(ex -> assertThat(ex)
                .isInstanceOf(PatroniRestException.class)
                .hasMessage("no Patroni REST API answered GET /cluster: "
                        + "GET " + dead + "/cluster failed: connection refused or unreachable; "
                        + "GET " + silent + "/cluster failed: no answer within PT2S; "
                        + "GET " + notPatroni + "/cluster did not answer like Patroni's REST API: the answer is not "
                        + "JSON: unexpected character '<' at offset 0; "
                        + "GET " + notFound + "/cluster answered HTTP 404, not Patroni's 200 with the cluster"))
            .verify(Duration.ofSeconds(10));
    }

    @Test
    void shouldSendCredentialsAsBasicAuthAndNeverShowThem() throws IOException {
        List<String> requests = new CopyOnWriteArrayList<>();
        String url = server(200, "nope", requests);
        String withSecret = url.replace("http://", "http://patroni:s3cr%40t@");
        PatroniRestClient client = new PatroniRestClient(List.of(withSecret), TIMEOUT);
        assertThat(client.urls()).containsExactly(url);
        assertThat(client.toString()).doesNotContain("s3cr");
        StepVerifier.create(client.readCluster())
            .expectErrorSatisfies(ex -> assertThat(ex.getMessage()).startsWith("no Patroni REST API answered")
                .contains(url)
                .doesNotContain("s3cr")
                .doesNotContain("patroni:"))
            .verify(Duration.ofSeconds(10));
        // patroni:s3cr@t
        assertThat(requests).containsExactly("/cluster Basic cGF0cm9uaTpzM2NyQHQ=");
    }

    @Test
    void shouldRefuseBadSettingsNamingThem() {
        assertThatThrownBy(() -> new PatroniRestClient(List.of(), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni must name at least one Patroni REST URL, was empty");
        assertThatThrownBy(() -> new PatroniRestClient(List.of("http://h:8008"), Duration.ZERO))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni.timeout must be positive, was PT0S");
        assertThatThrownBy(() -> new PatroniRestClient(List.of(" "), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni must not contain a blank URL, was ' '");
        assertThatThrownBy(() -> new PatroniRestClient(List.of("postgresql://app:secret@pg-0:5432/app"), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni: 'postgresql://***@pg-0:5432/app' is not an http:// or https:// URL of a "
                    + "Patroni REST API (e.g. http://pg-0:8008)");
        assertThatThrownBy(() -> new PatroniRestClient(List.of("http://u:secret@:8008"), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni: 'http://***@:8008' has no host");
        assertThatThrownBy(() -> new PatroniRestClient(List.of("http://u:secret@h 1:8008"), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("patroni: 'http://***@h 1:8008' is not a URL: ")
            .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> new PatroniRestClient(List.of("http://h:8008/cluster?x=1"), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni: 'http://h:8008/cluster?x=1' must be the REST API's base URL, without query or "
                    + "fragment");
        assertThatThrownBy(() -> new PatroniRestClient(List.of("http://h:8008", "http://h:8008/"), TIMEOUT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("patroni names http://h:8008 twice");
    }

}
