package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A real PostgreSQL primary with streaming replicas, started from the local server binaries
 * (no Docker) on free loopback ports, in a fresh {@code r2dbc-routing-testkit-*} temp directory.
 *
 * <pre>{@code
 * try (PostgresCluster cluster = PostgresCluster.start(2)) {
 *     cluster.primary().execute("CREATE TABLE t (id int)");
 *     cluster.awaitReplication(Duration.ofSeconds(5));
 *     cluster.node("replica-1").freeze();
 * }
 * }</pre>
 *
 * <p>The servers are tuned for speed ({@code fsync=off}) and are throwaway. The app user is a
 * superuser that owns the database and logs in with a password (SCRAM) over TCP. {@link #close()}
 * removes every process and file; a JVM shutdown hook closes clusters left open, and the next
 * cluster started on the machine removes what a killed JVM left behind.
 */
public final class PostgresCluster implements AutoCloseable {

	private static final Logger LOG = Loggers.getLogger(PostgresCluster.class);

	static final String DEFAULT_DATABASE = "app";

	static final String DEFAULT_USERNAME = "app";

	/** Fixed so that test logs and URLs are reproducible; the servers listen on loopback only. */
	static final String DEFAULT_PASSWORD = "r2dbc-routing-testkit-S3cret!";

	private static final Set<PostgresCluster> OPEN = ConcurrentHashMap.newKeySet();

	private static final AtomicBoolean JVM_SETUP_DONE = new AtomicBoolean();

	private final Path directory;

	private final List<PostgresNode> nodes;

	private final AtomicBoolean closed = new AtomicBoolean();

	private PostgresCluster(Path directory, List<PostgresNode> nodes) {
		this.directory = directory;
		this.nodes = List.copyOf(nodes);
	}

	public static Builder builder() {
		return new Builder();
	}

	/** A started primary with {@code replicas} streaming replicas: {@code builder().replicas(replicas).build()}. */
	public static PostgresCluster start(int replicas) {
		return builder().replicas(replicas).build();
	}

	/** The node started as the primary, named {@code primary} (it stays this node after a promotion elsewhere). */
	public PostgresNode primary() {
		return nodes.get(0);
	}

	/** The nodes started as replicas: {@code replica-1}, {@code replica-2}, … */
	public List<PostgresNode> replicas() {
		return nodes.subList(1, nodes.size());
	}

	/** All nodes, the primary first. */
	public List<PostgresNode> nodes() {
		return nodes;
	}

	/** @throws IllegalArgumentException naming the unknown name and the known ones */
	public PostgresNode node(String name) {
		for (PostgresNode node : nodes) {
			if (node.name().equals(name)) {
				return node;
			}
		}
		throw new IllegalArgumentException("no node named '" + name + "' in this cluster; nodes are "
				+ nodes.stream().map(PostgresNode::name).collect(Collectors.toList()));
	}

	/** The cluster's directory (one sub-directory per node, holding {@code data} and {@code postgresql.log}). */
	public Path directory() {
		return directory;
	}

	/**
	 * Waits until every running, unfrozen standby whose replay is not paused has replayed the WAL
	 * up to the current primary's {@code pg_current_wal_lsn()} taken now. The current primary is
	 * {@link #primary()} while it runs and is not in recovery, else the running node that is not
	 * in recovery (after a promotion).
	 * @throws IllegalStateException naming the replica and both LSNs when {@code timeout} passes
	 */
	public void awaitReplication(Duration timeout) {
		Objects.requireNonNull(timeout, "timeout");
		PostgresNode current = currentPrimary();
		String target = current.queryString("SELECT pg_current_wal_lsn()::text");
		long deadline = System.nanoTime() + timeout.toNanos();
		for (PostgresNode replica : nodes) {
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

	/** Stops every server at once and deletes the directory; idempotent, never throws for a dead node. */
	@Override
	public void close() {
		if (!closed.compareAndSet(false, true)) {
			return;
		}
		OPEN.remove(this);
		closeQuietly(nodes.stream().map(PostgresNode::operations).toList(), directory);
		LOG.info("Cluster {} closed", directory);
	}

	private static void closeQuietly(List<NodeOperations> operations, Path directory) {
		for (NodeOperations node : operations) {
			node.close();
		}
		try {
			PgProcess.deleteTree(directory);
		}
		catch (RuntimeException ex) {
			LOG.warn("Could not delete cluster directory {}: {}", directory, ex.getMessage());
		}
	}

	@Override
	public String toString() {
		return "PostgresCluster" + nodes;
	}

	private static void setUpJvmOnce() {
		if (JVM_SETUP_DONE.compareAndSet(false, true)) {
			StaleClusterReaper.reap(StaleClusterReaper.tempRoot());
			Runtime.getRuntime().addShutdownHook(new Thread(() -> {
				new ArrayList<>(OPEN).forEach(PostgresCluster::close);
				PgTemplate.deleteAll();
			}, "r2dbc-routing-testkit-shutdown"));
		}
	}

	/** Settings of a cluster; {@link #build()} starts it. */
	public static final class Builder {

		private int replicas = 2;

		private String database = DEFAULT_DATABASE;

		private String username = DEFAULT_USERNAME;

		private String password = DEFAULT_PASSWORD;

		private Builder() {
		}

		/** Number of streaming replicas, 0 to 9; default 2. */
		public Builder replicas(int replicas) {
			if (replicas < 0 || replicas > 9) {
				throw new IllegalArgumentException("replicas must be between 0 and 9, was " + replicas);
			}
			this.replicas = replicas;
			return this;
		}

		/** Database that the app user owns; default {@code app}. */
		public Builder database(String database) {
			this.database = requireName("database", database);
			return this;
		}

		/** A superuser with a password; default {@code app}. */
		public Builder username(String username) {
			this.username = requireName("username", username);
			return this;
		}

		/** The app user's password; default a fixed non-trivial secret. */
		public Builder password(String password) {
			Objects.requireNonNull(password, "password");
			if (password.isEmpty() || password.contains("\n")) {
				throw new IllegalArgumentException("password must be non-empty and on one line");
			}
			this.password = password;
			return this;
		}

		private static String requireName(String setting, String value) {
			Objects.requireNonNull(value, setting);
			if (!value.matches("[A-Za-z_][A-Za-z0-9_]{0,62}")) {
				throw new IllegalArgumentException(setting + " must be a plain SQL identifier (letters, digits, "
						+ "underscores, not starting with a digit), was '" + value + "'");
			}
			return value;
		}

		/** Starts the primary, then all replicas in parallel; returns when every replica streams. */
		public PostgresCluster build() {
			setUpJvmOnce();
			long started = System.nanoTime();
			PgTemplate template = PgTemplate.forCredentials(username, password, database);
			Path directory = StaleClusterReaper.createOwnedDirectory("");
			List<NodeOperations> startedNodes = new ArrayList<>();
			ExecutorService executor = null;
			try {
				LocalNode primary = LocalNode.startPrimary("primary", directory, template, database, username, password);
				startedNodes.add(primary);
				Endpoint primaryEndpoint = primary.endpoint();
				List<PostgresNode> nodes = new ArrayList<>();
				nodes.add(new PostgresNode(primaryEndpoint, primary));
				if (replicas > 0) {
					executor = Executors.newFixedThreadPool(replicas, r -> {
						Thread thread = new Thread(r, "r2dbc-routing-testkit-start");
						thread.setDaemon(true);
						return thread;
					});
					List<String> names = new ArrayList<>();
					for (int i = 1; i <= replicas; i++) {
						names.add("replica-" + i);
					}
					List<CompletableFuture<LocalNode>> futures = new ArrayList<>();
					for (LocalNode prepared : LocalNode.prepareReplicas(names, directory, primaryEndpoint)) {
						futures.add(CompletableFuture.supplyAsync(prepared::startPrepared, executor));
					}
					RuntimeException failure = null;
					for (CompletableFuture<LocalNode> future : futures) {
						try {
							LocalNode replica = future.join();
							startedNodes.add(replica);
							nodes.add(new PostgresNode(replica.endpoint(), replica));
						}
						catch (CompletionException ex) {
							failure = ex.getCause() instanceof RuntimeException rex ? rex : ex;
						}
					}
					if (failure != null) {
						throw failure;
					}
				}
				PostgresCluster cluster = new PostgresCluster(directory, nodes);
				OPEN.add(cluster);
				LOG.info("Cluster with {} replica(s) started in {} ms in {}: {}", replicas,
						(System.nanoTime() - started) / 1_000_000, directory, nodes);
				return cluster;
			}
			catch (RuntimeException ex) {
				closeQuietly(startedNodes, directory);
				throw ex;
			}
			finally {
				if (executor != null) {
					executor.shutdownNow();
				}
			}
		}

	}

}
