package io.github.r2dbcrouting.testkit;

import java.time.Duration;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import org.jspecify.annotations.Nullable;
import org.testcontainers.containers.GenericContainer;
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
            GenericContainer<?> created = NodeContainers.create(cluster, name, candidate, source);
            try {
                created.start();
            }
            catch (RuntimeException ex) {
                String logs = logTail(created);
                stopQuietly(created);
                if (!portFixed && attempt < PORT_ATTEMPTS && NodeContainers.isPortClash(ex)) {
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
        PgProcess.requireRunning(isRunning(), name, "freeze");
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
    public void startStopped() {
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
        PgProcess.requireRunning(isRunning(), name, "promote");
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
            return ServerLog.tail(target.getLogs(), ServerLog.TAIL_LINES);
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
