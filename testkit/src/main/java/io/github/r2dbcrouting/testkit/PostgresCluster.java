package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A real PostgreSQL primary with streaming replicas, from the local server binaries (about a
 * second, no Docker) or in containers through Testcontainers; see {@link Backend} for which.
 *
 * <pre>{@code
 * try (PostgresCluster cluster = PostgresCluster.start(2)) {
 *     cluster.primary().execute("CREATE TABLE t (id int)");
 *     cluster.awaitReplication(Duration.ofSeconds(5));
 *     cluster.node("replica-1").freeze();
 * }
 * }</pre>
 *
 * <p>Both backends give the same node names, URLs, settings and faults. Local: servers on free
 * loopback ports in a fresh {@code r2dbc-routing-testkit-*} temp directory. Containers: one
 * container per node (image {@value #DEFAULT_IMAGE} unless {@link Builder#image(String)},
 * {@value #IMAGE_PROPERTY} or {@value #IMAGE_ENV} say otherwise) on a network of the cluster's
 * own, each node's network alias being its name; replicas are base backups
 * ({@code pg_basebackup -R}) of the primary over that network. A container's server listens on
 * the same port inside as it is published on outside, fixed for the node's life, so ports never
 * change across restarts in either backend.
 *
 * <p>The servers are tuned for speed ({@code fsync=off}) and are throwaway. The app user is a
 * superuser that owns the database and logs in with a password (SCRAM) over TCP. {@link #close()}
 * removes every process, container, network and file; a JVM shutdown hook closes clusters left
 * open, and the next local cluster started on the machine removes what a killed JVM left
 * behind (a killed JVM's containers are Testcontainers' Ryuk's job, or CI's).
 */
public final class PostgresCluster implements DatabaseCluster {

    private static final Logger LOG = Loggers.getLogger(PostgresCluster.class);

    /** System property that forces a backend: {@code local}, {@code containers} or {@code auto}. */
    public static final String BACKEND_PROPERTY = "r2dbc.routing.testkit.backend";

    /** Environment variable read when {@value #BACKEND_PROPERTY} is not set. */
    public static final String BACKEND_ENV = "R2DBC_ROUTING_TESTKIT_BACKEND";

    /** System property naming the image of the containers backend. */
    public static final String IMAGE_PROPERTY = "r2dbc.routing.testkit.image";

    /** Environment variable read when {@value #IMAGE_PROPERTY} is not set. */
    public static final String IMAGE_ENV = "R2DBC_ROUTING_TESTKIT_IMAGE";

    /** The official PostgreSQL image, major version 15 like the CI's local binaries. */
    public static final String DEFAULT_IMAGE = "postgres:15";

    private final StartedCluster started;

    private final NodeList<PostgresNode> nodes;

    private final AtomicBoolean closed = new AtomicBoolean();

    private PostgresCluster(StartedCluster started) {
        this.started = started;
        this.nodes = new NodeList<>(started.nodes(), PostgresNode::name);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A started primary with {@code replicas} streaming replicas: {@code builder().replicas(replicas).build()}. */
    public static PostgresCluster start(int replicas) {
        return builder().replicas(replicas).build();
    }

    /** The node started as the primary, named {@code primary} (it stays this node after a promotion elsewhere). */
    @Override
    public PostgresNode primary() {
        return nodes.primary();
    }

    /** The nodes started as replicas: {@code replica-1}, {@code replica-2}, … */
    @Override
    public List<PostgresNode> replicas() {
        return nodes.replicas();
    }

    /** All nodes, the primary first. */
    @Override
    public List<PostgresNode> nodes() {
        return nodes.all();
    }

    /** @throws IllegalArgumentException naming the unknown name and the known ones */
    @Override
    public PostgresNode node(String name) {
        return nodes.named(name);
    }

    /** Where this cluster runs: {@link Backend#LOCAL} or {@link Backend#CONTAINERS}, never {@link Backend#AUTO}. */
    public Backend backend() {
        return started.backend();
    }

    /**
     * The local cluster's directory (one sub-directory per node, holding {@code data} and
     * {@code postgresql.log}).
     * @throws IllegalStateException for the containers backend, whose data lives in the containers
     */
    public Path directory() {
        if (started instanceof LocalCluster local) {
            return local.directory();
        }
        throw new IllegalStateException("a cluster of the " + backend() + " backend has no directory; its data lives "
                + "in its containers");
    }

    StartedCluster started() {
        return started;
    }

    /**
     * Waits until every running, unfrozen standby whose replay is not paused has replayed the WAL
     * up to the current primary's {@code pg_current_wal_lsn()} taken now. The current primary is
     * {@link #primary()} while it runs and is not in recovery, else the running node that is not
     * in recovery (after a promotion).
     * @throws IllegalStateException naming the replica and both LSNs when {@code timeout} passes
     */
    @Override
    public void awaitReplication(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        PostgresNode current = currentPrimary();
        String target = current.queryString("SELECT pg_current_wal_lsn()::text");
        long deadline = System.nanoTime() + timeout.toNanos();
        for (PostgresNode replica : nodes.all()) {
            if (replica == current || !replica.isRunning() || replica.isFrozen() || !replica.isInRecovery()
                    || replica.isReplayPaused()) {
                continue;
            }
            String sql = "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn";
            long pause = 5;
            while (!"true".equals(replica.queryString(sql))) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("replica '" + replica.name() + "' did not replay up to LSN " + target
                            + " of '" + current.name() + "' within " + timeout + "; it has replayed up to "
                            + replica.queryString("SELECT pg_last_wal_replay_lsn()::text"));
                }
                PgProcess.sleep(pause);
                pause = Math.min(pause * 2, 50);
            }
        }
    }

    private PostgresNode currentPrimary() {
        PostgresNode started = primary();
        if (started.isRunning() && !started.isFrozen() && !started.isInRecovery()) {
            return started;
        }
        for (PostgresNode node : replicas()) {
            if (node.isRunning() && !node.isFrozen() && !node.isInRecovery()) {
                return node;
            }
        }
        throw new IllegalStateException("no running primary in the cluster: " + nodes);
    }

    /**
     * Stops every server at once and deletes what the backend made (directory, or containers and
     * network); idempotent, never throws for a dead node.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        OpenClusters.closed(this);
        started.close();
        LOG.info("Cluster closed: {}", started);
    }

    @Override
    public String toString() {
        return "PostgresCluster" + nodes;
    }

    /** Settings of a cluster; {@link #build()} starts it. */
    public static final class Builder extends Credentials.Builder<Builder> {

        private int replicas = 2;

        private Backend backend = Backend.AUTO;

        private @Nullable String image;

        private boolean closeOnJvmExit = true;

        private Builder() {
            super(63);
        }

        /**
         * Whether the testkit's JVM shutdown hook closes this cluster (default {@code true}). An
         * owner with a lifecycle of its own (an application context that closes its connection
         * pools first) passes {@code false} and closes the cluster itself, last; a cluster left by
         * a JVM that died anyway is removed by the next cluster start (local backend).
         */
        public Builder closeOnJvmExit(boolean closeOnJvmExit) {
            this.closeOnJvmExit = closeOnJvmExit;
            return this;
        }

        /**
         * Where to run the servers; default {@link Backend#AUTO}, which reads
         * {@value PostgresCluster#BACKEND_PROPERTY} / {@value PostgresCluster#BACKEND_ENV} and then looks
         * at the machine. Any other value wins over both settings.
         */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * The image of the containers backend (ignored by the local one); default
         * {@value PostgresCluster#IMAGE_PROPERTY}, else {@value PostgresCluster#IMAGE_ENV}, else
         * {@value PostgresCluster#DEFAULT_IMAGE}. It must behave like the official {@code postgres} image
         * ({@code POSTGRES_USER}/{@code _PASSWORD}/{@code _DB}, {@code /docker-entrypoint-initdb.d},
         * {@code docker-entrypoint.sh} on the {@code PATH}) with {@code pg_basebackup} on the {@code PATH}.
         */
        public Builder image(String image) {
            Objects.requireNonNull(image, "image");
            if (image.isBlank()) {
                throw new IllegalArgumentException("image must not be blank, was '" + image + "'");
            }
            this.image = image.trim();
            return this;
        }

        /** Number of streaming replicas, 0 to 9; default 2. */
        public Builder replicas(int replicas) {
            if (replicas < 0 || replicas > 9) {
                throw new IllegalArgumentException("replicas must be between 0 and 9, was " + replicas);
            }
            this.replicas = replicas;
            return this;
        }

        /**
         * Picks the backend, starts the primary, then all replicas in parallel; returns when
         * every replica streams.
         * @throws IllegalStateException when no backend can run here, naming what to install
         */
        public PostgresCluster build() {
            Backend chosen = BackendSelection.select(backend, System.getProperty(BACKEND_PROPERTY),
                    System.getenv(BACKEND_ENV), BackendSelection::localProblem, BackendSelection::engineProblem);
            ClusterSettings settings = new ClusterSettings(replicas, database, username, password, resolveImage());
            OpenClusters.closeAtJvmExit();
            long begin = System.nanoTime();
            StartedCluster started = chosen == Backend.CONTAINERS ? ContainerCluster.start(settings)
                    : LocalCluster.start(settings);
            PostgresCluster cluster = new PostgresCluster(started);
            if (closeOnJvmExit) {
                OpenClusters.add(cluster);
            }
            LOG.info("Cluster with {} replica(s) started in {} ms ({}): {}", replicas,
                    (System.nanoTime() - begin) / 1_000_000, started, cluster.nodes);
            return cluster;
        }

        private String resolveImage() {
            if (image != null) {
                return image;
            }
            for (String value : new String[] { System.getProperty(IMAGE_PROPERTY), System.getenv(IMAGE_ENV) }) {
                if (value != null && !value.isBlank()) {
                    return value.trim();
                }
            }
            return DEFAULT_IMAGE;
        }

    }

}
