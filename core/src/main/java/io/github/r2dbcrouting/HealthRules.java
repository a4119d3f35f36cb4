package io.github.r2dbcrouting;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * What a good probe does to a node's health, as a pure function: the node's health before, what
 * the probe saw, and the settings give its health after and the change to announce. No lock, no
 * clock, no node: {@link Cluster} calls it under its lock, with what it knows of the rest of the
 * cluster (the writer's position, whether this node is the only one that could take writes), and
 * turns the change into an event.
 */
final class HealthRules {

    private HealthRules() {
    }

    /**
     * @param next   the node's health after the probe
     * @param change what to announce about the node's place in rotation, {@code null} for nothing
     */
    record Outcome(NodeHealth next, @Nullable Change change) {
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
        return health.state() == NodeState.EJECTED && reason != null && (reason.equals(Cluster.JOINING) || reason.startsWith(Cluster.JOINING_FAILED));
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
