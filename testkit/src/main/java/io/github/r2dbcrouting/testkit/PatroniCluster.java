package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A PostgreSQL cluster managed by Patroni, with a single-member etcd as its configuration store,
 * all from the machine's packages (Debian: {@code patroni}, {@code etcd-server}) and the local
 * PostgreSQL binaries, on free loopback ports, in a fresh {@code r2dbc-routing-testkit-patroni*}
 * temp directory. Members are named {@code pg-0}, {@code pg-1}, …; which one leads is Patroni's
 * choice, so ask {@link #awaitLeader(Duration)}.
 *
 * <pre>{@code
 * try (PatroniCluster cluster = PatroniCluster.start(3)) {
 *     PatroniMember leader = cluster.awaitLeader(Duration.ofSeconds(30));
 *     leader.execute("CREATE TABLE t (id int)");
 *     cluster.switchover(cluster.member("pg-1"));
 *     cluster.killLeader();                       // kill -9 of Patroni and PostgreSQL
 *     cluster.awaitLeader(Duration.ofSeconds(30)); // a new one, after the TTL
 * }
 * }</pre>
 *
 * <p>Timing is tuned for tests (Patroni's defaults are ttl 30 s, loop_wait 10 s,
 * retry_timeout 10 s): {@code loop_wait} 1 s, {@code ttl} 8 s and {@code retry_timeout} 3 s by
 * default ({@link Builder#timing}), so a killed leader is replaced within about ttl + loop_wait.
 * The first member bootstraps from a copy of the testkit's initdb template (Patroni's custom
 * bootstrap, no initdb), the others clone it with {@code pg_basebackup}. All start in parallel.
 *
 * <p>{@link #close()} kills every Patroni, PostgreSQL and etcd process and deletes the directory;
 * a JVM shutdown hook closes clusters left open, and the next cluster started on the machine
 * removes what a killed JVM left behind, processes included.
 */
public final class PatroniCluster implements AutoCloseable {

    private static final Logger LOG = Loggers.getLogger(PatroniCluster.class);

    /** How long {@link Builder#build()} waits for a leader and streaming replicas. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    /** How long {@link #switchover} lets Patroni's REST call take. */
    static final Duration SWITCHOVER_TIMEOUT = Duration.ofSeconds(60);

    private final PatroniSettings settings;

    private final Path directory;

    private final Etcd etcd;

    private final Path patroniExecutable;

    final List<PatroniMember> members = new CopyOnWriteArrayList<>();

    private final PatroniRest rest = new PatroniRest(members);

    private final AtomicBoolean closed = new AtomicBoolean();

    PatroniCluster(PatroniSettings settings, Path directory, Etcd etcd, Path patroniExecutable) {
        this.settings = settings;
        this.directory = directory;
        this.etcd = etcd;
        this.patroniExecutable = patroniExecutable;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@code builder().members(members).build()}: a started cluster with one leader and members - 1 streaming replicas. */
    public static PatroniCluster start(int members) {
        return builder().members(members).build();
    }

    /** All members, in the order they were made (added ones last); stopped and killed ones included. */
    public List<PatroniMember> members() {
        return List.copyOf(members);
    }

    /** @throws IllegalArgumentException naming the unknown name and the known ones */
    public PatroniMember member(String name) {
        return NodeList.named(members, PatroniMember::name, name, "member", "this Patroni cluster");
    }

    /** Patroni's {@code scope}: the cluster's name in etcd. */
    public String scope() {
        return settings.scope();
    }

    /** The REST base URL of every member ({@code http://127.0.0.1:PORT}), in member order. */
    public List<String> restUrls() {
        return members.stream().map(PatroniMember::restUrl).toList();
    }

    /** etcd's client URL ({@code http://127.0.0.1:PORT}). */
    public String etcdUrl() {
        return etcd.clientUrl();
    }

    /** The cluster's directory: {@code etcd/}, and one sub-directory per member. */
    public Path directory() {
        return directory;
    }

    /**
     * Patroni's {@code GET /cluster} answer (raw JSON) from the first running member that gives one.
     * @throws IllegalStateException when no running member answers
     */
    public String clusterJson() {
        return rest.clusterJson();
    }

    /** The members of {@code GET /cluster} by name (see {@link PatroniRest#clusterView()}). */
    Map<String, Map<String, @Nullable Object>> clusterView() {
        return rest.clusterView();
    }

    /**
     * Waits until Patroni names a running leader whose REST API answers {@code GET /primary} with
     * 200 and whose server is out of recovery, and returns it.
     * @throws AssertionError naming the cluster state when {@code timeout} passes
     */
    public PatroniMember awaitLeader(Duration timeout) {
        return rest.awaitLeader(timeout, null);
    }

    /** Like {@link #awaitLeader(Duration)}, for a leader other than {@code previous} (after a failover). */
    public PatroniMember awaitNewLeader(PatroniMember previous, Duration timeout) {
        return rest.awaitLeader(timeout, Objects.requireNonNull(previous, "previous"));
    }

    /**
     * Waits until there is a leader and every other running member streams from it: the
     * leader's {@code pg_stat_replication} lists it (by its name, Patroni's
     * {@code application_name}) in state {@code streaming}.
     * @return the leader
     */
    public PatroniMember awaitMembersStreaming(Duration timeout) {
        return rest.awaitMembersStreaming(timeout);
    }

    /**
     * Waits until Patroni names a synchronous standby (a cluster built with
     * {@link Builder#synchronousMode()}) and returns it: the member a switchover must go to, and
     * the one Patroni promotes when the leader dies.
     */
    public PatroniMember awaitSyncStandby(Duration timeout) {
        return rest.awaitSyncStandby(timeout);
    }

    /**
     * Switches the leader over to {@code candidate} through the leader's REST API
     * ({@code POST /switchover} with {@code leader} and {@code candidate}; Patroni answers once the
     * candidate leads) and waits until the candidate is the leader as {@link #awaitLeader} sees it.
     * The old leader then rejoins as a replica on its own (see {@link #awaitMembersStreaming}).
     * @throws IllegalStateException with Patroni's answer when it refuses
     */
    public PatroniMember switchover(PatroniMember candidate) {
        Objects.requireNonNull(candidate, "candidate");
        return rest.switchover(candidate, START_TIMEOUT, SWITCHOVER_TIMEOUT);
    }

    /**
     * Kills the current leader's Patroni and PostgreSQL with SIGKILL and returns it; the others
     * elect a new leader once its leader key expires ({@code ttl}).
     */
    public PatroniMember killLeader() {
        PatroniMember leader = awaitLeader(START_TIMEOUT);
        leader.kill();
        return leader;
    }

    /** Adds a member (named {@code pg-N}) and starts it; it clones the leader and streams from it. */
    public PatroniMember addMember() {
        return addMember(Map.of());
    }

    /**
     * Adds a member with Patroni tags (e.g. {@code Map.of("noloadbalance", true)}; known:
     * {@code nofailover}, {@code noloadbalance}, {@code nosync}, {@code clonefrom}) and starts it.
     */
    public synchronized PatroniMember addMember(Map<String, Boolean> tags) {
        requireOpen();
        for (String tag : tags.keySet()) {
            if (!Set.of("nofailover", "noloadbalance", "nosync", "clonefrom").contains(tag)) {
                throw new IllegalArgumentException("unknown Patroni tag '" + tag
                        + "'; known: nofailover, noloadbalance, nosync, clonefrom");
            }
        }
        PatroniMember member = createMember("pg-" + members.size(), tags);
        member.start();
        return member;
    }

    PatroniMember createMember(String name, Map<String, Boolean> tags) {
        PatroniMember member = PatroniMember.create(name, directory, patroniExecutable, settings, etcd.clientAddress(),
                tags);
        members.add(member);
        return member;
    }

    /** Every live process of this cluster now: etcd, each Patroni, each postmaster and its children. */
    List<Long> processes() {
        List<Long> pids = new ArrayList<>();
        if (etcd.isAlive()) {
            pids.add(etcd.pid());
        }
        for (PatroniMember member : members) {
            if (member.patroniPid() > 0) {
                pids.addAll(PgProcess.tree(member.patroniPid()));
            }
            if (member.postmasterPid() > 0) {
                pids.addAll(PgProcess.tree(member.postmasterPid()));
            }
        }
        return pids;
    }

    private void requireOpen() {
        if (closed.get()) {
            throw new IllegalStateException("Patroni cluster " + scope() + " is closed");
        }
    }

    /** Kills every member (Patroni first, then PostgreSQL), then etcd, and deletes the directory; idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        OpenClusters.closed(this);
        closeQuietly(members, etcd, directory);
        LOG.info("Patroni cluster {} closed", settings.scope());
    }

    private static void closeQuietly(List<PatroniMember> members, Etcd etcd, Path directory) {
        // Patroni first: a live Patroni would restart a PostgreSQL we killed
        members.forEach(PatroniMember::close);
        try {
            etcd.close();
        }
        catch (RuntimeException ex) {
            LOG.warn("Could not kill {}: {}", etcd, ex.toString());
        }
        try {
            PatroniFiles.deleteInBackground(directory);
        }
        catch (RuntimeException ex) {
            LOG.warn("Could not delete Patroni cluster directory {}: {}", directory, ex.getMessage());
        }
    }

    @Override
    public String toString() {
        return "PatroniCluster " + settings.scope() + members;
    }

    /** Settings of a Patroni cluster; {@link #build()} starts it. */
    public static final class Builder extends Credentials.Builder<Builder> {

        private int members = 3;

        private Duration ttl = Duration.ofSeconds(8);

        private Duration loopWait = Duration.ofSeconds(1);

        private Duration retryTimeout = Duration.ofSeconds(3);

        private boolean synchronous;

        private Builder() {
            super(63);
        }

        /** Number of members started, 1 to 9; default 3 (a leader and two replicas). */
        public Builder members(int members) {
            if (members < 1 || members > 9) {
                throw new IllegalArgumentException("members must be between 1 and 9, was " + members);
            }
            this.members = members;
            return this;
        }

        /**
         * Patroni's timing, whole seconds: the leader key's {@code ttl} (default 8 s),
         * {@code loop_wait} (default 1 s) and {@code retry_timeout} (default 3 s). Patroni needs
         * {@code loop_wait + 2 * retry_timeout <= ttl}.
         */
        public Builder timing(Duration ttl, Duration loopWait, Duration retryTimeout) {
            PatroniSettings.checkTiming(ttl, loopWait, retryTimeout);
            this.ttl = ttl;
            this.loopWait = loopWait;
            this.retryTimeout = retryTimeout;
            return this;
        }

        /**
         * Runs Patroni in {@code synchronous_mode}: a commit returns once a synchronous standby has
         * it, and only that standby may be promoted, so a failover loses no acknowledged write. A
         * switchover must then name the synchronous standby ({@link #awaitSyncStandby}); Patroni
         * refuses another candidate. Default: asynchronous replication, as Patroni's default.
         */
        public Builder synchronousMode() {
            this.synchronous = true;
            return this;
        }

        /**
         * Starts etcd, then every member's Patroni in parallel; returns when there is a leader and
         * every other member streams from it.
         * @throws IllegalStateException when Patroni, etcd or PostgreSQL binaries are missing or
         * the cluster does not come up, with the log tails of every member
         */
        public PatroniCluster build() {
            return PatroniBoot.start(members, database, username, password, ttl, loopWait, retryTimeout, synchronous);
        }

    }

}
