package io.github.r2dbcrouting.testkit;

import java.util.Locale;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import org.jspecify.annotations.Nullable;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * The container a {@link ContainerNode} runs in: image, network alias, labels, the published port,
 * and the scripts that make the official {@code postgres} image a replication-ready primary or a
 * standby of it. What is done to a running container is {@link ContainerNode}'s.
 */
final class NodeContainers {

    private static final String INIT_SCRIPT_PATH = "/docker-entrypoint-initdb.d/r2dbc-routing-testkit.sh";

    /**
     * Sourced by the image's entrypoint on the primary's first start, before the real server
     * starts: the shared settings (replicas inherit them through the base backup) and password
     * logins for replication from the network (the official image allows only normal logins).
     */
    static final String INIT_SCRIPT = "# r2dbc-routing-testkit: replication-ready throwaway server\n"
            + "cat >> \"$PGDATA/postgresql.conf\" <<'R2DBC_ROUTING_TESTKIT'\n"
            + ServerSetup.SETTINGS
            + "listen_addresses = '*'\n"
            + "R2DBC_ROUTING_TESTKIT\n"
            + "echo 'host replication all all scram-sha-256' >> \"$PGDATA/pg_hba.conf\"\n";

    /**
     * A replica's entrypoint: on first start a base backup of the primary through this node's
     * slot ({@code -R} writes {@code standby.signal} and {@code primary_conninfo}), then the
     * image's own entrypoint, which finds a data directory and just starts the server. Works
     * with the official image (gosu) and the CI image (setpriv); the CI image's own
     * {@code REPLICATE_FROM} mode is not used because the official image has none.
     */
    static final String REPLICA_ENTRYPOINT = String.join("\n",
            "set -Eeuo pipefail",
            ": \"${PGDATA:=/var/lib/postgresql/data}\"",
            "as_postgres() {",
            "  if command -v gosu >/dev/null 2>&1; then gosu postgres \"$@\";",
            "  else setpriv --reuid=postgres --regid=postgres --init-groups -- \"$@\"; fi",
            "}",
            "if [ ! -s \"$PGDATA/PG_VERSION\" ]; then",
            "  mkdir -p \"$PGDATA\" && chown postgres:postgres \"$PGDATA\" && chmod 700 \"$PGDATA\"",
            "  deadline=$(( $(date +%s) + 60 ))",
            "  echo \"r2dbc-routing-testkit: pg_basebackup from $TESTKIT_SOURCE_HOST:$TESTKIT_SOURCE_PORT\" >&2",
            "  until as_postgres env PGCONNECT_TIMEOUT=3 pg_basebackup -h \"$TESTKIT_SOURCE_HOST\" "
                    + "-p \"$TESTKIT_SOURCE_PORT\" -U \"$POSTGRES_USER\" -w -D \"$PGDATA\" -R -X stream -c fast "
                    + "-S \"$TESTKIT_SLOT\" --no-sync; do",
            "    if [ \"$(date +%s)\" -ge \"$deadline\" ]; then echo 'r2dbc-routing-testkit: base backup failed' >&2; exit 1; fi",
            "    find \"$PGDATA\" -mindepth 1 -delete",
            "    sleep 1",
            "  done",
            "fi",
            "exec docker-entrypoint.sh \"$@\"",
            "");

    private NodeContainers() {
    }

    /**
     * A container (not started) for node {@code name} of {@code cluster}, listening on {@code port}
     * inside and out: a primary when {@code source} is null, else a standby of it.
     */
    @SuppressWarnings("resource") // the caller starts it, and stops it when the start fails
    static GenericContainer<?> create(ContainerCluster cluster, String name, int port, @Nullable Endpoint source) {
        ClusterSettings settings = cluster.settings();
        String bindIp = cluster.bindIp();
        ExposedPort exposed = ExposedPort.tcp(port);
        Ports.Binding binding = bindIp != null ? Ports.Binding.bindIpAndPort(bindIp, port) : Ports.Binding.bindPort(port);
        GenericContainer<?> created = new GenericContainer<>(DockerImageName.parse(settings.image()))
            .withNetwork(cluster.network())
            .withNetworkAliases(name)
            .withLabel(ContainerCluster.CLUSTER_LABEL, cluster.id())
            .withLabel(ContainerCluster.NODE_LABEL, name)
            .withEnv("POSTGRES_USER", settings.username())
            .withEnv("POSTGRES_PASSWORD", settings.password())
            .withEnv("POSTGRES_DB", settings.database())
            // cluster_name names the WAL receiver in pg_stat_replication, as application_name does locally
            .withCommand("postgres", "-c", "port=" + port, "-c", "cluster_name=" + name)
            .withStartupTimeout(ContainerNode.START_TIMEOUT)
            .withCreateContainerCmdModifier(cmd -> {
                cmd.withExposedPorts(exposed);
                cmd.getHostConfig().withPortBindings(new PortBinding(binding, exposed));
                if (source != null) {
                    cmd.withEntrypoint("bash", "-c", REPLICA_ENTRYPOINT, "r2dbc-routing-testkit-replica");
                }
            });
        if (source == null) {
            created.withEnv("POSTGRES_INITDB_ARGS", "--no-sync --wal-segsize=1")
                .withCopyToContainer(Transferable.of(INIT_SCRIPT, 0644), INIT_SCRIPT_PATH)
                // the entrypoint's temporary init server logs it first, the real server second
                .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*\\s", 2));
        }
        else {
            created.withEnv("TESTKIT_SOURCE_HOST", source.name())
                .withEnv("TESTKIT_SOURCE_PORT", Integer.toString(source.port()))
                .withEnv("TESTKIT_SLOT", ServerSetup.slotName(name))
                .withEnv("PGPASSWORD", settings.password())
                .waitingFor(Wait.forLogMessage(".*database system is ready to accept read-only connections.*\\s", 1));
        }
        return created;
    }

    /** Whether a container start failed because its port was taken meanwhile. */
    static boolean isPortClash(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (message.contains("address already in use") || message.contains("port is already allocated")
                    || message.contains("bind for")) {
                return true;
            }
        }
        return false;
    }

}
