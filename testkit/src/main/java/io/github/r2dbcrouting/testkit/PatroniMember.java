package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * One member of a {@link PatroniCluster}: a Patroni process and the PostgreSQL server it manages,
 * in {@code <cluster>/<name>} ({@code data}, {@code patroni.yml}, {@code patroni.log}). Its name,
 * PostgreSQL port and REST port never change, also across {@link #stop()}/{@link #start()} and
 * {@link #kill()}. Whether it is the leader is Patroni's business: ask {@link PatroniCluster#awaitLeader}.
 *
 * <p>The SQL helpers block and open a fresh connection each call; they are meant for test code.
 */
public final class PatroniMember {

    private static final Logger LOG = Loggers.getLogger(PatroniMember.class);

    /** How long {@link #stop()} lets Patroni shut PostgreSQL down before killing both. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final String name;

    private final Path directory;

    private final Path dataDir;

    private final Path config;

    private final Path patroniExecutable;

    private final Endpoint endpoint;

    private final int restPort;

    private final Map<String, Boolean> tags;

    private volatile @Nullable Daemon daemon;

    PatroniMember(String name, Path directory, Path patroniExecutable, Endpoint endpoint, int restPort,
            Map<String, Boolean> tags) {
        this.name = name;
        this.directory = directory;
        this.dataDir = directory.resolve("data");
        this.config = directory.resolve("patroni.yml");
        this.patroniExecutable = patroniExecutable;
        this.endpoint = endpoint;
        this.restPort = restPort;
        this.tags = Map.copyOf(tags);
    }

    /**
     * Makes member {@code name} of a cluster in {@code clusterDir}: its directory, free ports for
     * PostgreSQL and the REST API, and its {@code patroni.yml}; does not start it.
     */
    static PatroniMember create(String name, Path clusterDir, Path patroniExecutable, PatroniSettings settings,
            String etcdAddress, Map<String, Boolean> tags) {
        Path memberDir;
        try {
            memberDir = Files.createDirectory(clusterDir.resolve(name));
            PgProcess.chownToPostgres(memberDir);
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not create the directory of member '" + name + "' in " + clusterDir
                    + ": " + ex.getMessage(), ex);
        }
        Endpoint endpoint = new Endpoint(name, FreePorts.LOOPBACK, FreePorts.next(), settings.database(),
                settings.username(), settings.password());
        PatroniMember member = new PatroniMember(name, memberDir, patroniExecutable, endpoint, FreePorts.next(), tags);
        member.writeConfig(PatroniConfig.json(settings.scope(), name, memberDir, endpoint, member.restPort(),
                etcdAddress, clusterDir.resolve(PatroniFiles.TEMPLATE_PATH_FILE), PgBinaries.directory(), settings.ttl(),
                settings.loopWait(), settings.retryTimeout(), settings.synchronous(), tags));
        return member;
    }

    /** Writes {@code patroni.yml} (JSON, which YAML reads) for this member. */
    private void writeConfig(String configJson) {
        try {
            Files.writeString(config, configJson, StandardCharsets.UTF_8);
            // it holds the password
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
            PgProcess.chownToPostgres(config);
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not write " + config + ": " + ex.getMessage(), ex);
        }
    }

    public String name() {
        return name;
    }

    /** Always {@code 127.0.0.1}. */
    public String host() {
        return endpoint.host();
    }

    /** The PostgreSQL port. */
    public int port() {
        return endpoint.port();
    }

    public String database() {
        return endpoint.database();
    }

    public String username() {
        return endpoint.username();
    }

    public String password() {
        return endpoint.password();
    }

    /** The port of Patroni's REST API. */
    public int restPort() {
        return restPort;
    }

    /** {@code http://127.0.0.1:PORT}, the base of Patroni's REST API ({@code /cluster}, {@code /primary}, …). */
    public String restUrl() {
        return "http://" + endpoint.host() + ":" + restPort;
    }

    /** The Patroni tags set to true for this member ({@code nofailover}, {@code noloadbalance}). */
    public Map<String, Boolean> tags() {
        return tags;
    }

    /** {@code r2dbc:postgresql://HOST:PORT/DB}, without credentials (see {@link #options()}). */
    public String r2dbcUrl() {
        return endpoint.r2dbcUrl();
    }

    /** Driver, host, port, database, user, password and a 2 s connect timeout. */
    public ConnectionFactoryOptions options() {
        return endpoint.options();
    }

    /** A new, unpooled r2dbc-postgresql factory (2 s connect timeout) on each call. */
    public ConnectionFactory connectionFactory() {
        return endpoint.connectionFactory();
    }

    Endpoint endpoint() {
        return endpoint;
    }

    Path directory() {
        return directory;
    }

    /** Whether this member's Patroni process runs (its PostgreSQL may still be starting). */
    public boolean isRunning() {
        Daemon current = daemon;
        return current != null && current.isAlive();
    }

    /** The pid of the Patroni process, or -1 when it does not run. */
    public long patroniPid() {
        Daemon current = daemon;
        return current != null && current.isAlive() ? current.pid() : -1;
    }

    /** The pid of the PostgreSQL postmaster from its {@code postmaster.pid}, or -1 when none runs. */
    public long postmasterPid() {
        Long pid = PgProcess.postmasterPid(dataDir);
        return pid != null && PgProcess.isAlive(pid) ? pid : -1;
    }

    /**
     * What this member's own REST API says about it ({@code GET /patroni}, e.g. {@code "state"},
     * {@code "role"}), or an empty map when it does not answer.
     */
    public Map<String, @Nullable Object> status() {
        try {
            Http.Response response = Http.get(restUrl() + "/patroni");
            if (response.body().startsWith("{") && Json.parse(response.body()) instanceof Map<?, ?> map) {
                @SuppressWarnings("unchecked")
                Map<String, @Nullable Object> status = (Map<String, @Nullable Object>) map;
                return status;
            }
        }
        catch (IOException | IllegalArgumentException ex) {
            // not answering (yet): no status
        }
        return Map.of();
    }

    /** Runs SQL on this member and returns the first column of the first row (as text), or null. */
    public @Nullable String queryString(String sql) {
        return Sql.queryString(endpoint, sql);
    }

    /** Runs SQL on this member and returns every row's first column (as text, SQL NULL left out). */
    public List<String> queryColumn(String sql) {
        return Sql.queryColumn(endpoint, sql);
    }

    /** Runs SQL on this member. */
    public void execute(String sql) {
        Sql.execute(endpoint, sql);
    }

    /**
     * Client sessions on this member, not counting the one that asks nor Patroni's own
     * ({@code application_name} starting with {@code Patroni}).
     */
    public int clientSessions() {
        String count = queryString("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                + "AND pid <> pg_backend_pid() AND coalesce(application_name, '') NOT LIKE 'Patroni%'");
        return count == null ? 0 : Integer.parseInt(count);
    }

    /** Whether this member's PostgreSQL takes a query now (Patroni runs, and the server is not restarting). */
    boolean answers() {
        if (!isRunning() || postmasterPid() <= 0) {
            return false;
        }
        try {
            return "1".equals(queryString("SELECT 1"));
        }
        catch (IllegalStateException ex) {
            return false;
        }
    }

    /** Whether PostgreSQL runs here in recovery (a replica); asks the server. */
    public boolean isInRecovery() {
        return "true".equals(queryString("SELECT pg_is_in_recovery()"));
    }

    /**
     * Starts this member's Patroni (it starts PostgreSQL: as a new replica, a rejoining one, or
     * as the first leader when the cluster is new).
     * @throws IllegalStateException when it runs already
     */
    public synchronized void start() {
        if (isRunning()) {
            throw new IllegalStateException("member '" + name + "' is already running");
        }
        daemon = Daemon.start("patroni", directory, List.of(patroniExecutable.toString(), config.toString()),
                Map.of("PATRONI_LOGLEVEL", "INFO"));
        LOG.info("Member '{}': Patroni started (pid {}), PostgreSQL port {}, REST {}", name, daemon.pid(), port(),
                restUrl());
    }

    /**
     * Stops Patroni gracefully (SIGTERM): it shuts PostgreSQL down and, when it is the leader,
     * releases the leader key so that another member takes over at once. Waits until both are
     * gone; kills them when they take longer than 30 s.
     */
    public synchronized void stop() {
        Daemon current = daemon;
        if (current != null) {
            current.terminate(STOP_TIMEOUT);
        }
        killPostgresIfRunning();
        LOG.info("Member '{}' stopped", name);
    }

    /**
     * Kills Patroni and PostgreSQL with SIGKILL, as a crashed machine would: when this member was
     * the leader, the others wait for its leader key to expire (the cluster's TTL) and elect a new one.
     */
    public synchronized void kill() {
        Daemon current = daemon;
        if (current != null) {
            current.kill();
        }
        killPostgresIfRunning();
        LOG.info("Member '{}' killed (Patroni and PostgreSQL, SIGKILL)", name);
    }

    /**
     * Kills only PostgreSQL (postmaster and children, SIGKILL). Patroni stays and restarts it;
     * a leader keeps its leader key, so there is no failover.
     * @throws IllegalStateException when no postmaster runs
     */
    public synchronized void killPostgres() {
        if (postmasterPid() < 0) {
            throw new IllegalStateException("cannot kill the PostgreSQL of member '" + name + "': it is not running");
        }
        killPostgresIfRunning();
        LOG.info("Member '{}': PostgreSQL killed (SIGKILL), Patroni left running", name);
    }

    private void killPostgresIfRunning() {
        long pid = postmasterPid();
        if (pid < 0) {
            return;
        }
        // stop the postmaster first so it forks no child after the tree was listed
        PgProcess.signal("STOP", List.of(pid));
        List<Long> tree = PgProcess.tree(pid);
        PgProcess.signal("KILL", tree);
        PgProcess.await("PostgreSQL processes " + tree + " of member '" + name + "' exiting after SIGKILL",
                LocalNode.STOP_TIMEOUT, () -> tree.stream().noneMatch(PgProcess::isAlive));
    }

    /** Kills everything of this member; never throws. */
    void close() {
        try {
            kill();
        }
        catch (RuntimeException ex) {
            LOG.warn("Member '{}' could not be killed cleanly: {}", name, ex.toString());
        }
    }

    /** The last lines of {@code patroni.log} (Patroni's and PostgreSQL's output). */
    public String logTail() {
        Daemon current = daemon;
        return current != null ? current.logTail() : "(never started)";
    }

    @Override
    public String toString() {
        return name + " (" + endpoint.host() + ":" + endpoint.port() + ", REST " + restPort + ")";
    }

}
