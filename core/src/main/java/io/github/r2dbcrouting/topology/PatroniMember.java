package io.github.r2dbcrouting.topology;

import java.util.Locale;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * One member of Patroni's {@code GET /cluster} answer.
 *
 * <p>Patroni's HAProxy template ({@code extras/confd/templates/haproxy.tmpl}) lists every member
 * in both its primary and its replicas backend and lets each member's REST API decide, checking
 * every 3 s and moving traffic after 3 failed checks: {@code HEAD /primary} answers 200 only on
 * the leader, {@code HEAD /replica} only on a running replica without {@code noloadbalance}
 * ({@code patroni/api.py}). {@link #takesWrites()} and {@link #takesReads()} apply those rules to
 * one {@code /cluster} answer, so a single request decides for every member.
 *
 * @param name          Patroni's member name, unique in the cluster
 * @param role          the role; {@link PatroniRole#UNKNOWN} for one this client does not know
 * @param state         PostgreSQL's state as Patroni reports it: {@code running}, {@code streaming} and
 *                      {@code in archive recovery} (replicas, Patroni 3.0.4+), {@code starting},
 *                      {@code stopped}, {@code stopping}, {@code crashed}, {@code creating replica}, …
 * @param host          the PostgreSQL host ({@code postgresql.connect_address}), null when Patroni gives none
 * @param port          the PostgreSQL port, 0 when Patroni gives none
 * @param lagBytes      bytes of WAL behind the leader; null for the leader and when Patroni says {@code unknown}
 * @param timeline      PostgreSQL's timeline, null when not reported
 * @param noFailover    tag {@code nofailover}: never promoted by Patroni
 * @param noLoadBalance tag {@code noloadbalance}: Patroni's {@code /replica} check fails, so HAProxy sends it no reads
 * @param apiUrl        the member's REST API ({@code restapi.connect_address}), null when not reported
 */
record PatroniMember(String name, PatroniRole role, String state, @Nullable String host, int port,
        @Nullable Long lagBytes, @Nullable Long timeline, boolean noFailover, boolean noLoadBalance,
        @Nullable String apiUrl) {

    /** The states in which PostgreSQL runs and answers queries. */
    static final Set<String> RUNNING_STATES = Set.of("running", "streaming", "in archive recovery");

    /** Whether PostgreSQL runs here ({@link #RUNNING_STATES}); {@code starting}, {@code stopped}, … do not. */
    boolean isRunning() {
        return RUNNING_STATES.contains(state);
    }

    /** Whether it has an address to connect to. */
    boolean hasAddress() {
        return host != null && !host.isEmpty() && port > 0;
    }

    /**
     * Whether it should take writes, as Patroni's HAProxy template decides with
     * {@code HEAD /primary}: it holds the leader key of a normal cluster and PostgreSQL runs.
     */
    boolean takesWrites() {
        return role == PatroniRole.LEADER && isRunning() && hasAddress();
    }

    /**
     * Whether it should take reads, as Patroni's HAProxy template decides with {@code HEAD /replica}
     * (200 only for a running replica not tagged {@code noloadbalance}): a replica role (sync and
     * quorum standbys included, a standby leader not), PostgreSQL running, no {@code noloadbalance}.
     * {@code nofailover} only keeps a member from being promoted; it still serves reads.
     */
    boolean takesReads() {
        return role.isReplica() && isRunning() && !noLoadBalance && hasAddress();
    }

    @Override
    public String toString() {
        return name + " (" + role.name().toLowerCase(Locale.ROOT) + ", " + state + ", " + host + ":" + port
                + (lagBytes != null ? ", lag " + lagBytes + " B" : "") + (noFailover ? ", nofailover" : "")
                + (noLoadBalance ? ", noloadbalance" : "") + ")";
    }

}
