package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import io.r2dbc.spi.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.retry.Retry;

/**
 * Applies a {@link TopologySource}'s snapshots to a running factory: new members join through the
 * factory's add path (out of rotation until a probe answered), gone members leave through its
 * removal path (drained), and the leader the source names is probed at once and cross-checked:
 * one the probes find in recovery is reported and not used for writes (writes go to the node the
 * probes find out of recovery, as always). Snapshots arrive one at a time from the source's Flux,
 * so its state needs no lock.
 */
final class TopologyFollower {

    private static final Logger LOGGER = Loggers.getLogger(TopologyFollower.class);

    /** The pause before the factory subscribes again to a source whose Flux failed. */
    private static final Duration RESUBSCRIBE = Duration.ofSeconds(1);

    /** How often, and how long, the check of a source's leader looks for a probe's answer. */
    private static final Duration ROLE_POLL = Duration.ofMillis(50);

    private static final Duration ROLE_WAIT = Duration.ofSeconds(30);

    private final String name;

    private final TopologySource source;

    private final Cluster cluster;

    private final HealthMonitor monitor;

    private final Scheduler scheduler;

    private final StartupWait startup;

    /** Makes a joining node for a member and adds it to the cluster. */
    private final Function<TopologyMember, Node> join;

    /** Removes a node by name and drains it. */
    private final Function<String, Mono<Void>> leave;

    /** Members applied so far, by name, in the source's order. */
    private final Map<String, Joined> members = new LinkedHashMap<>();

    /** Written on the source's signals, read by the leader check too. */
    private volatile @Nullable String leaderHint;

    /** The source failure last announced; read and written on the source's signals, which come one at a time. */
    private volatile @Nullable String lastProblem;

    private volatile @Nullable Disposable subscription;

    private volatile @Nullable Disposable startupCheck;

    private record Joined(ConnectionFactory factory, Node node) {
    }

    TopologyFollower(String name, TopologySource source, Cluster cluster, HealthMonitor monitor, Scheduler scheduler, StartupWait startup,
                     Function<TopologyMember, Node> join, Function<String, Mono<Void>> leave) {
        this.name = name;
        this.source = source;
        this.cluster = cluster;
        this.monitor = monitor;
        this.scheduler = scheduler;
        this.startup = startup;
        this.join = join;
        this.leave = leave;
    }

    void start() {
        this.subscription = this.source.members()
            .doOnNext(this::applySafely)
            .retryWhen(Retry.fixedDelay(Long.MAX_VALUE, RESUBSCRIBE)
                .scheduler(this.scheduler)
                .doBeforeRetry(signal -> sourceFailed(signal.failure())))
            .name("r2dbc-routing.topology")
            .subscribe(null, error -> LOGGER.error("[" + this.name + "] following topology source " + this.source + " ended", error));
        // the first writer ends the start-up; none by the deadline is announced once
        this.startupCheck = Flux.interval(Duration.ZERO, ROLE_POLL, this.scheduler)
            .filter(tick -> this.cluster.topology().writer != null)
            .next()
            .timeout(this.startup.duration(), this.scheduler)
            .subscribe(tick -> this.startup.writerSeen(), error -> {
                Topology topology = this.cluster.topology();
                if (topology.writer == null) {
                    this.cluster.announce(RoutingEvent.Type.SOURCE, null, RoutingEvent.Cause.TOPOLOGY, "no primary among the nodes of "
                        + this.source + " " + this.startup.duration().toMillis() + "ms after start-up: " + topology.noWriterReason);
                }
            });
    }

    /** Stops following; nodes stay as they are (the factory closes them). */
    void stop() {
        Disposable current = this.subscription;
        if (current != null) {
            current.dispose();
        }
        Disposable check = this.startupCheck;
        if (check != null) {
            check.dispose();
        }
    }

    /** Announced once per distinct failure, not once per retry. */
    private void sourceFailed(Throwable error) {
        String problem = error.getMessage() != null ? error.getMessage() : Cluster.describe(error);
        this.startup.sourceProblem(problem);
        if (!problem.equals(this.lastProblem)) {
            this.lastProblem = problem;
            this.cluster.announce(RoutingEvent.Type.SOURCE, null, RoutingEvent.Cause.TOPOLOGY, "topology source " + this.source
                + " failed: " + problem + "; trying again every " + RESUBSCRIBE.toMillis() + "ms");
        }
    }

    private void applySafely(List<TopologyMember> snapshot) {
        this.lastProblem = null;
        this.startup.sourceProblem(null);
        try {
            apply(snapshot);
        } catch (RuntimeException error) {
            // one bad snapshot must not end following the source
            this.cluster.announce(RoutingEvent.Type.SOURCE, null, RoutingEvent.Cause.TOPOLOGY,
                "a snapshot of topology source " + this.source + " was not applied: " + Cluster.describe(error));
        }
    }

    private void apply(List<TopologyMember> snapshot) {
        Map<String, TopologyMember> next = new LinkedHashMap<>();
        for (TopologyMember member : snapshot) {
            if (next.put(member.name(), member) != null) {
                throw new IllegalArgumentException("member name '" + member.name() + "' appears twice in " + snapshot);
            }
        }
        // gone, or moved to another address: leave first, so that a moved member can join again under its name
        Set<String> gone = new HashSet<>();
        for (Map.Entry<String, Joined> entry : this.members.entrySet()) {
            TopologyMember member = next.get(entry.getKey());
            if (member == null || member.factory() != entry.getValue().factory()) {
                gone.add(entry.getKey());
            }
        }
        for (String memberName : gone) {
            this.members.remove(memberName);
            this.leave.apply(memberName)
                .subscribe(null, error -> LOGGER.warn("[{}] draining '{}' failed: {}", this.name, memberName, error.toString()));
        }
        for (TopologyMember member : next.values()) {
            Joined joined = this.members.get(member.name());
            if (joined == null) {
                Node node = this.join.apply(member);
                this.members.put(member.name(), new Joined(member.factory(), node));
            } else {
                this.cluster.readable(joined.node(), member.readable());
            }
        }
        followLeader(next);
    }

    /** A new leader named by the source is probed now rather than at its loop's next turn, and checked. */
    private void followLeader(Map<String, TopologyMember> next) {
        String leader = null;
        for (TopologyMember member : next.values()) {
            if (member.role() == NodeRole.PRIMARY) {
                leader = member.name();
            }
        }
        if (leader == null || leader.equals(this.leaderHint)) {
            this.leaderHint = leader;
            return;
        }
        String previous = this.leaderHint;
        this.leaderHint = leader;
        List<Node> check = new ArrayList<>();
        Joined named = this.members.get(leader);
        if (named == null) {
            return;
        }
        check.add(named.node());
        Joined old = previous == null ? null : this.members.get(previous);
        if (old != null) {
            check.add(old.node());
        }
        String hinted = leader;
        Node node = named.node();
        // the check waits for the probes to tell (a joining node's first probe may fail or time out)
        this.monitor.checkNow(check)
            .thenMany(Flux.interval(Duration.ZERO, ROLE_POLL, this.scheduler))
            .filter(tick -> node.health.observedRole() != NodeRole.UNKNOWN)
            .next()
            .timeout(ROLE_WAIT, this.scheduler)
            .subscribe(tick -> {
                if (hinted.equals(this.leaderHint) && node.health.observedRole() == NodeRole.REPLICA) {
                    this.cluster.announce(RoutingEvent.Type.SOURCE, node, RoutingEvent.Cause.ROLE, "topology source " + this.source
                        + " names '" + hinted + "' leader, but its probe finds it in recovery: it is not trusted with writes"
                        + describeWriter());
                }
            }, error -> LOGGER.debug("[{}] no probe of '{}' answered within {}: the source's leader is not checked", this.name, hinted,
                ROLE_WAIT));
    }

    private String describeWriter() {
        Node writer = this.cluster.topology().writer;
        return writer != null ? "; writes stay on '" + writer.name + "'" : "; no node takes writes";
    }

    @Override
    public String toString() {
        return "TopologyFollower{" + this.source + "}";
    }
}
