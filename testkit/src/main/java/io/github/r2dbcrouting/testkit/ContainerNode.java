package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import org.jspecify.annotations.Nullable;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A PostgreSQL server in its own container. Faults go through the engine: kill with SIGKILL,
 * pause/unpause, stop, and start of the same container (its data survives).
 *
 * <p>The server listens inside the container on the port it is published on outside (a free
 * port picked once per node), so the port never changes, not even when {@link #rejoinAsReplicaOf}
 * replaces the container, and {@code inet_server_port()} tells nodes apart as in the local backend.
 */
final class ContainerNode implements NodeOperations {

    private static final Logger LOG = Loggers.getLogger(ContainerNode.class);

    /** Container start (initdb or base backup included) until the server accepts connections. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private static final int PORT_ATTEMPTS = 5;

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

    private final ContainerCluster cluster;

    private final String name;

    private volatile int port;

    private volatile @Nullable GenericContainer<?> container;

    private volatile long pid = -1;

    private volatile boolean frozen;

    private ContainerNode(ContainerCluster cluster, String name) {
        this.cluster = cluster;
        this.name = name;
    }

    static ContainerNode startPrimary(ContainerCluster cluster, String name) {
        ContainerNode node = new ContainerNode(cluster, name);
        node.startNewContainer(null);
        return node;
    }

    /** A standby of {@code primary}, whose slot for it exists already. */
    static ContainerNode startReplica(ContainerCluster cluster, String name, ContainerNode primary) {
        ContainerNode node = new ContainerNode(cluster, name);
        node.startNewContainer(primary.endpoint());
        return node;
    }

    /**
     * Creates and starts a container for this node, a primary when {@code source} is null, else
     * a standby of it. A node's first container tries other ports when its port was taken
     * meanwhile; later ones keep the node's port.
     */
    private void startNewContainer(@Nullable Endpoint source) {
        boolean portFixed = port > 0;
        for (int attempt = 1;; attempt++) {
            int candidate = portFixed ? port : FreePorts.next();
            GenericContainer<?> created = newContainer(candidate, source);
            try {
                created.start();
            }
            catch (RuntimeException ex) {
                String logs = logTail(created);
                stopQuietly(created);
                if (!portFixed && attempt < PORT_ATTEMPTS && isPortClash(ex)) {
                    LOG.info("Node '{}': port {} was taken meanwhile, trying another one", name, candidate);
                    continue;
                }
                throw new IllegalStateException("node '" + name + "' did not start in a container of image '"
                        + cluster.settings().image() + "' on port " + candidate + ": " + describe(ex)
                        + "\n--- container log (tail) ---\n" + logs, ex);
            }
            container = created;
            port = candidate;
            pid = inspect(created.getContainerId()).getState().getPidLong();
            frozen = false;
            if (LOG.isDebugEnabled()) {
                LOG.debug("Node '{}' running in container {} on port {} (pid {})", name, shortId(), port, pid);
            }
            return;
        }
    }

    @SuppressWarnings("resource") // closed by close(), or by stopQuietly when the start fails
    private GenericContainer<?> newContainer(int port, @Nullable Endpoint source) {
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
            .withStartupTimeout(START_TIMEOUT)
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

    private static boolean isPortClash(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (message.contains("address already in use") || message.contains("port is already allocated")
                    || message.contains("bind for")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Endpoint endpoint() {
        ClusterSettings settings = cluster.settings();
        return new Endpoint(name, cluster.host(), port, settings.database(), settings.username(), settings.password());
    }

    /** The id of the node's current container. */
    String containerId() {
        return requireContainer().getContainerId();
    }

    @Override
    public boolean isRunning() {
        GenericContainer<?> current = container;
        if (current == null) {
            return false;
        }
        try {
            InspectContainerResponse.ContainerState state = inspect(current.getContainerId()).getState();
            // podman reports a paused container as not running; Docker as running and paused
            return Boolean.TRUE.equals(state.getRunning()) || Boolean.TRUE.equals(state.getPaused());
        }
        catch (NotFoundException ex) {
            return false;
        }
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public void kill() {
        GenericContainer<?> current = container;
        if (current == null || !isRunning()) {
            return;
        }
        String id = current.getContainerId();
        unpauseIfPaused(id); // Docker refuses to kill a paused container
        client().killContainerCmd(id).withSignal("KILL").exec();
        PgProcess.await("container " + shortId() + " of node '" + name + "' exiting after SIGKILL", STOP_TIMEOUT,
                () -> !isRunning());
        frozen = false;
        LOG.info("Node '{}' killed (container {}, pid {})", name, shortId(), pid);
    }

    @Override
    public void freeze() {
        requireRunning("freeze");
        client().pauseContainerCmd(requireContainer().getContainerId()).exec();
        frozen = true;
        LOG.info("Node '{}' frozen (container {} paused)", name, shortId());
    }

    @Override
    public void thaw() {
        GenericContainer<?> current = container;
        if (current == null) {
            return;
        }
        unpauseIfPaused(current.getContainerId());
        frozen = false;
        LOG.info("Node '{}' thawed (container {} unpaused)", name, shortId());
    }

    @Override
    public boolean isFrozen() {
        return frozen;
    }

    @Override
    public void restart() {
        if (isRunning()) {
            stop();
        }
        String id = requireContainer().getContainerId();
        client().startContainerCmd(id).exec();
        pid = inspect(id).getState().getPidLong();
        frozen = false;
        awaitAcceptingConnections();
        LOG.info("Node '{}' restarted on port {} (container {}, pid {})", name, port, shortId(), pid);
    }

    /**
     * A standby accepts connections only once hot standby is consistent, so an answer also
     * means that it is in recovery, as with {@code pg_ctl -w} locally.
     */
    private void awaitAcceptingConnections() {
        Endpoint endpoint = endpoint();
        PgProcess.await("node '" + name + "' accepting connections after the start of container " + shortId(),
                START_TIMEOUT, () -> {
                    try {
                        return "1".equals(Sql.queryString(endpoint, "SELECT 1"));
                    }
                    catch (IllegalStateException ex) {
                        if (!isRunning()) {
                            throw new IllegalStateException("container " + shortId() + " of node '" + name
                                    + "' exited while starting:\n" + logTail(requireContainer()), ex);
                        }
                        return false;
                    }
                });
    }

    @Override
    public void stop() {
        GenericContainer<?> current = container;
        if (current == null) {
            return;
        }
        if (frozen) {
            thaw();
        }
        if (!isRunning()) {
            return;
        }
        // the images' stop signal is SIGINT: PostgreSQL's fast shutdown, like pg_ctl -m fast
        client().stopContainerCmd(current.getContainerId()).withTimeout((int) STOP_TIMEOUT.toSeconds()).exec();
        LOG.info("Node '{}' stopped (container {})", name, shortId());
    }

    @Override
    public void promote() {
        requireRunning("promote");
        Endpoint endpoint = endpoint();
        if (!"true".equals(Sql.queryString(endpoint, "SELECT pg_is_in_recovery()"))) {
            throw new IllegalStateException("node '" + name + "' is not a standby, there is nothing to promote");
        }
        String promoted = Sql.queryString(endpoint, "SELECT pg_promote(true, " + START_TIMEOUT.toSeconds() + ")");
        if (!"true".equals(promoted)) {
            throw new IllegalStateException("node '" + name + "' did not finish its promotion within " + START_TIMEOUT);
        }
        PgProcess.await("node '" + name + "' reporting pg_is_in_recovery() = false after promotion", START_TIMEOUT,
                () -> "false".equals(Sql.queryString(endpoint, "SELECT pg_is_in_recovery()")));
        LOG.info("Node '{}' promoted to primary", name);
    }

    @Override
    public void rejoinAsReplicaOf(NodeOperations newPrimary) {
        if (!(newPrimary instanceof ContainerNode other) || other.cluster != cluster) {
            throw new IllegalArgumentException("node '" + name + "' can only rejoin as a replica of a node of its own "
                    + "cluster, not of " + newPrimary);
        }
        Endpoint source = other.endpoint();
        GenericContainer<?> old = container;
        if (old != null) {
            unpauseIfPaused(old.getContainerId());
            stopQuietly(old); // removes the container and its data
            container = null;
        }
        Sql.execute(source, ServerSetup.createSlotSql(name));
        startNewContainer(source);
        LOG.info("Node '{}' rejoined as a standby of '{}' in container {}", name, source.name(), shortId());
    }

    @Override
    public void close() {
        GenericContainer<?> current = container;
        if (current == null) {
            return;
        }
        try {
            unpauseIfPaused(current.getContainerId());
        }
        catch (RuntimeException ex) {
            LOG.warn("Node '{}': could not unpause container {} before removing it: {}", name, shortId(), ex.toString());
        }
        stopQuietly(current);
        frozen = false;
    }

    private void unpauseIfPaused(String id) {
        try {
            if (Boolean.TRUE.equals(inspect(id).getState().getPaused())) {
                client().unpauseContainerCmd(id).exec();
            }
        }
        catch (NotFoundException ex) {
            // gone already: nothing to unpause
        }
    }

    private void stopQuietly(GenericContainer<?> target) {
        try {
            target.stop(); // Testcontainers kills and removes it, with its volumes
        }
        catch (RuntimeException ex) {
            LOG.warn("Node '{}': could not remove its container: {}", name, ex.toString());
        }
    }

    private void requireRunning(String operation) {
        if (!isRunning()) {
            throw new IllegalStateException("cannot " + operation + " node '" + name + "': it is not running");
        }
    }

    private GenericContainer<?> requireContainer() {
        GenericContainer<?> current = container;
        if (current == null) {
            throw new IllegalStateException("node '" + name + "' has no container (closed, or a rejoin failed)");
        }
        return current;
    }

    private static InspectContainerResponse inspect(String id) {
        return client().inspectContainerCmd(id).exec();
    }

    private static DockerClient client() {
        return ContainerEngine.client();
    }

    private String shortId() {
        GenericContainer<?> current = container;
        String id = current != null ? current.getContainerId() : null;
        return id == null ? "-" : id.substring(0, Math.min(12, id.length()));
    }

    /** The last lines of the container's output, for error messages. */
    private static String logTail(GenericContainer<?> target) {
        try {
            String logs = target.getLogs();
            String[] lines = logs.split("\n");
            int from = Math.max(0, lines.length - 20);
            return String.join("\n", Arrays.asList(lines).subList(from, lines.length));
        }
        catch (RuntimeException ex) {
            return "(no log: " + ex.getMessage() + ")";
        }
    }

    private static String describe(Throwable ex) {
        StringBuilder message = new StringBuilder(String.valueOf(ex.getMessage()));
        for (Throwable cause = ex.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            message.append("; caused by: ").append(cause.getMessage());
        }
        return message.toString();
    }

    @Override
    public String toString() {
        return name + " (" + cluster.host() + ":" + port + ", container " + shortId() + ")";
    }

}
