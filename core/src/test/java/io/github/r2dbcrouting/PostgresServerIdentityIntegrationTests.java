package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.Backend;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * {@link ServerIdentitySuite} on real PostgreSQL servers (a server says who it is by its system
 * identifier and its postmaster's start time), the alias seen by a role with no privilege; and,
 * PostgreSQL's own, that the identity is read once per probe connection.
 */
class PostgresServerIdentityIntegrationTests extends ServerIdentitySuite {

    private static final Logger LOGGER = Loggers.getLogger(PostgresServerIdentityIntegrationTests.class);

    /** A login role with no privilege but on its own table: what an application usually gets. */
    private static final String PLAIN_USER = "plain_app";

    private static final String PLAIN_PASSWORD = "plain-app-S3cret!";

    /** One replica for the split-brain test to promote; the other tests leave it alone. */
    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(1)
        .schema(SCHEMA + ";"
            + "CREATE ROLE " + PLAIN_USER + " LOGIN PASSWORD '" + PLAIN_PASSWORD + "';"
            + "GRANT SELECT, INSERT ON writes TO " + PLAIN_USER)
        .perTest()
        .build();

    PostgresServerIdentityIntegrationTests() {
        super(Family.postgres(CLUSTER));
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

    /** Waits until every node has answered {@code probes} more probes from now. */
    private void awaitProbes(int probes) {
        Instant after = Instant.now().plus(this.family.probeInterval().multipliedBy(probes));
        Await.until(probes + " more probes of every node", FEW_INTERVALS,
            () -> this.factory.nodes().stream().allMatch(n -> n.lastProbe() != null && n.lastProbe().isAfter(after)),
            () -> this.factory.nodes().toString());
    }

    /** What an application usually gets: the identity must be readable by a role with no privilege. */
    @Override
    ConnectionFactory aliasLogin(DatabaseNode server) {
        return plain((PostgresNode) server);
    }

    /** A primary and its physical replicas share the system identifier: only the start time tells them apart. */
    @Override
    void assertIdentifiersOfAPromotion(String oldPrimary, String promoted) {
        assertThat(identifier(oldPrimary)).as("one system identifier: only the start time tells the two apart").isEqualTo(identifier(promoted));
    }

    @Test
    void shouldReadTheIdentityOncePerProbeConnectionNotOnEveryProbe() throws Exception {
        assumeTrue(CLUSTER.cluster().backend() == Backend.LOCAL, "reads the local server's log");
        PostgresNode server = CLUSTER.primary();
        server.execute("ALTER SYSTEM SET log_statement = 'all'");
        server.execute("SELECT pg_reload_conf()");
        Path log = CLUSTER.cluster().directory().resolve(server.name()).resolve("postgresql.log");
        long from = Files.size(log);
        this.factory = identityBuilder().primary("primary", plain(server)).build();
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
