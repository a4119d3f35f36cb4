package io.github.r2dbcrouting;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * What a probe does to a node's health, as pure functions: the node's health before, what the
 * probe saw, and the settings give its health after, the change to announce and (for a failed
 * probe) what to retire and abort. No lock, no clock, no node: {@link Cluster} calls them under
 * its lock, with what it knows of the rest of the cluster (the writer's position, whether this
 * node is the only one that could take writes, how its lent connections fare), and turns the
 * change into an event.
 */
final class HealthRules {

    /** Why a node a topology source added is out of rotation until its first good probe. */
    static final String JOINING = "joining: not probed yet";

    static final String JOINING_FAILED = "joining: probe failed: ";

    private HealthRules() {
    }

    /**
     * @param next   the node's health after the probe
     * @param change what to announce about the node's place in rotation, {@code null} for nothing
     */
    record Outcome(NodeHealth next, @Nullable Change change) {
    }

    /**
     * What a failed probe does.
     *
     * @param next   the node's health after the probe
     * @param change what to announce, {@code null} for nothing
     * @param eject  whether the node leaves rotation now: its pool is retired
     * @param abort  whether the connections it has lent and its connection attempts are failed now,
     *               so that the reads hanging on it can go elsewhere
     */
    record Failure(NodeHealth next, @Nullable Change change, boolean eject, boolean abort) {
    }

    /**
     * How the connections a node has lent fare, for the stall rule.
     *
     * @param inUse       connections lent out, being opened or waited for (see {@link Suspicion#outstanding})
     * @param quiet       how long none of them came back
     * @param quietAmong  whether none came back while the other readers kept answering (see {@link Suspicion#quietAmong})
     */
    record Lending(int inUse, Duration quiet, boolean quietAmong) {
    }

    /**
     * A change of a node's place in rotation.
     *
     * @param type    {@code EJECTED} or {@code READMITTED}
     * @param cause   why
     * @param message the sentence for an operator, naming the node
     */
    record Change(RoutingEvent.Type type, RoutingEvent.Cause cause, String message) {
    }

    /**
     * A probe of {@code node} answered. A replica whose lag passes a bound leaves rotation; a
     * node out of rotation comes back after {@code successesToReadmit} good probes in a row
     * (after one when it is the only node that could take writes while none does), unless its
     * lag still passes a bound; a node out for lag stays out with the new figure.
     *
     * @param node       the node's name, for messages
     * @param old        its health before
     * @param result     what the probe saw
     * @param writerLsn  the position of the node taking writes, {@code -1} when unknown or when it is this node
     * @param soleWriter whether the node reports the primary role and is the only node that could take writes while none does
     * @param settings   the health settings
     * @param now        when the probe finished
     */
    static Outcome probeSucceeded(String node, NodeHealth old, ProbeResult result, long writerLsn, boolean soleWriter,
                                  HealthSettings settings, Instant now) {
        NodeRole role = result.role();
        long lagBytes = -1;
        Duration lagTime = result.replayLag();
        if (role == NodeRole.REPLICA && result.lsn() >= 0 && writerLsn >= 0) {
            lagBytes = Math.max(0, writerLsn - result.lsn());
        }
        int successes = old.successes() + 1;
        NodeHealth next = new NodeHealth(old.state(), role, old.reason(), 0, successes, result.lsn(), lagBytes, lagTime,
            now, result.latency(), null);
        String lagProblem = role == NodeRole.REPLICA ? lagProblem(lagBytes, lagTime, settings) : null;
        Change change = null;
        if (old.state() == NodeState.UP && lagProblem != null) {
            next = next.withState(NodeState.EJECTED, lagProblem);
            change = new Change(RoutingEvent.Type.EJECTED, RoutingEvent.Cause.LAG, "node '" + node + "' is ejected: " + lagProblem);
        } else if (old.state() == NodeState.EJECTED && lagProblem == null && (successes >= settings.successesToReadmit() || soleWriter || joining(old))) {
            next = next.withState(NodeState.UP, null);
            RoutingEvent.Cause cause = old.reason() != null && old.reason().startsWith("lag") ? RoutingEvent.Cause.LAG : RoutingEvent.Cause.PROBE;
            change = new Change(RoutingEvent.Type.READMITTED, cause, "node '" + node + "' is readmitted after "
                + successes + " good probe" + (successes == 1 ? "" : "s") + " (was out: " + old.reason() + ")");
        } else if (old.state() == NodeState.EJECTED && lagProblem != null && !lagProblem.equals(old.reason()) && old.reason() != null
            && old.reason().startsWith("lag")) {
            next = next.withState(NodeState.EJECTED, lagProblem);
        }
        return new Outcome(next, change);
    }

    /**
     * A probe of {@code node} failed or timed out. A node leaves rotation after
     * {@code failuresToEject} failures in a row. A replica whose probe timed out while none of
     * the connections it has lent out came back for longer than the probe timeout (or while the
     * other readers kept answering) is stalled (frozen, or too overloaded to answer anything): it
     * leaves rotation at once, because every read sent to it meanwhile hangs. A node a topology
     * source added stays out, with the error. A replica ejected after a timed-out probe has its
     * connections aborted, also when the ejection came from {@code failuresToEject} timeouts
     * rather than the stall rule.
     *
     * @param node     the node's name, for messages
     * @param old      its health before
     * @param role     the role it is used in (observed, else configured)
     * @param error    what the probe met
     * @param latency  how long the probe took
     * @param timedOut whether the probe timed out
     * @param lending  how its lent connections fare
     * @param settings the health settings
     * @param now      when the probe finished
     */
    static Failure probeFailed(String node, NodeHealth old, NodeRole role, String error, Duration latency, boolean timedOut,
                               Lending lending, HealthSettings settings, Instant now) {
        int failures = old.failures() + 1;
        NodeHealth next = new NodeHealth(old.state(), old.observedRole(), old.reason(), failures, 0, old.lsn(), old.lagBytes(),
            old.lagTime(), now, latency, error);
        boolean stalled = timedOut && role == NodeRole.REPLICA
            && (stalled(lending.inUse(), lending.quiet(), settings.timeout()) || lending.inUse() > 0 && lending.quietAmong());
        if (joining(old)) {
            return new Failure(next.withState(NodeState.EJECTED, JOINING_FAILED + error), null, false, false);
        }
        if (old.state() != NodeState.UP || failures < settings.failuresToEject() && !stalled) {
            return new Failure(next, null, false, false);
        }
        String reason = failures < settings.failuresToEject()
            ? "stalled: " + error + " and none of its " + lending.inUse() + " connection(s) in use came back for " + lending.quiet().toMillis() + "ms"
            : failures + " probe" + (failures == 1 ? "" : "s") + " failed: " + error;
        return new Failure(next.withState(NodeState.EJECTED, reason),
            new Change(RoutingEvent.Type.EJECTED, RoutingEvent.Cause.PROBE, "node '" + node + "' is ejected: " + reason), true,
            stalled || timedOut && role == NodeRole.REPLICA);
    }

    /** Connections are out and none came back for longer than a probe may take. */
    static boolean stalled(int inUse, Duration quiet, Duration probeTimeout) {
        return inUse > 0 && quiet.compareTo(probeTimeout) > 0;
    }

    /**
     * What to say when a probe shows a node in another role than before (or, at its first
     * report, than configured); {@code null} when nothing changed or the node does not tell.
     */
    static @Nullable String roleMismatch(String node, NodeRole configured, NodeRole before, NodeRole now) {
        if (before != now && now != NodeRole.UNKNOWN && before != NodeRole.UNKNOWN
            || before == NodeRole.UNKNOWN && now != NodeRole.UNKNOWN && now != configured && configured != NodeRole.UNKNOWN) {
            return "node '" + node + (configured == NodeRole.UNKNOWN ? "'" : "' (configured as " + lower(configured) + ")") + " reports it is " + lower(now)
                + (before != NodeRole.UNKNOWN ? ", was " + lower(before) : "");
        }
        return null;
    }

    /** A node a topology source added that has not answered a probe yet: its first good probe lets it in. */
    static boolean joining(NodeHealth health) {
        String reason = health.reason();
        return health.state() == NodeState.EJECTED && reason != null && (reason.equals(JOINING) || reason.startsWith(JOINING_FAILED));
    }

    /** Why a replica's lag keeps it out of rotation, {@code null} when it is within the bounds. */
    static @Nullable String lagProblem(long lagBytes, @Nullable Duration lagTime, HealthSettings settings) {
        long maxBytes = settings.maxLagBytes();
        if (maxBytes > 0 && lagBytes > maxBytes) {
            return "lag " + lagBytes + " bytes exceeds health.maxLagBytes " + maxBytes;
        }
        Duration maxTime = settings.maxLagTime();
        if (!maxTime.isZero() && Dialect.notReplicating(lagTime)) {
            return "lag unknown: not replicating (counts as past health.maxLagTime " + maxTime.toMillis() + "ms)";
        }
        if (!maxTime.isZero() && lagTime != null && lagTime.compareTo(maxTime) > 0) {
            return "lag " + lagTime.toMillis() + "ms exceeds health.maxLagTime " + maxTime.toMillis() + "ms";
        }
        return null;
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
