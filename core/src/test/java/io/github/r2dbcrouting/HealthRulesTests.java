package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

/** The rules a probe applies, without a cluster, a lock or a thread. */
class HealthRulesTests {

    private static final Instant NOW = Instant.parse("2026-11-30T08:00:00Z");

    private static final Duration LATENCY = Duration.ofMillis(3);

    private final HealthSettings settings = HealthSettings.builder().successesToReadmit(2).maxLagBytes(1000).build();

    private static NodeHealth ejected(String reason, int successes) {
        return NodeHealth.initial().withState(NodeState.EJECTED, reason).withCounts(0, successes);
    }

    private static ProbeResult replicaAt(long lsn) {
        return new ProbeResult(NodeRole.REPLICA, lsn, Duration.ZERO, LATENCY);
    }

    @Test
    void shouldEjectAReplicaWhoseLagPassesTheBound() {
        HealthRules.Outcome outcome = HealthRules.probeSucceeded("replica-1", NodeHealth.initial(), replicaAt(500), 2000, false,
            this.settings, NOW);
        assertThat(outcome.next().state()).isEqualTo(NodeState.EJECTED);
        assertThat(outcome.next().lagBytes()).isEqualTo(1500);
        assertThat(outcome.next().reason()).isEqualTo("lag 1500 bytes exceeds health.maxLagBytes 1000");
        assertThat(outcome.change()).isEqualTo(new HealthRules.Change(RoutingEvent.Type.EJECTED, RoutingEvent.Cause.LAG,
            "node 'replica-1' is ejected: lag 1500 bytes exceeds health.maxLagBytes 1000"));
    }

    @Test
    void shouldKeepAReplicaWithinTheBoundAndRecordTheProbe() {
        HealthRules.Outcome outcome = HealthRules.probeSucceeded("replica-1", NodeHealth.initial(), replicaAt(1500), 2000, false,
            this.settings, NOW);
        assertThat(outcome.change()).isNull();
        assertThat(outcome.next().state()).isEqualTo(NodeState.UP);
        assertThat(outcome.next().lagBytes()).isEqualTo(500);
        assertThat(outcome.next().observedRole()).isEqualTo(NodeRole.REPLICA);
        assertThat(outcome.next().lastProbe()).isEqualTo(NOW);
        assertThat(outcome.next().probeLatency()).isEqualTo(LATENCY);
        assertThat(outcome.next().successes()).isEqualTo(1);
    }

    @Test
    void shouldNotMeasureLagWithoutTheWritersPosition() {
        HealthRules.Outcome outcome = HealthRules.probeSucceeded("replica-1", NodeHealth.initial(), replicaAt(5), -1, false,
            this.settings, NOW);
        assertThat(outcome.next().lagBytes()).isEqualTo(-1);
        assertThat(outcome.change()).isNull();
    }

    @Test
    void shouldReadmitAfterSuccessesToReadmitGoodProbesInARow() {
        HealthRules.Outcome first = HealthRules.probeSucceeded("replica-1", ejected("3 probes failed: refused", 0), replicaAt(2000), 2000,
            false, this.settings, NOW);
        assertThat(first.change()).isNull();
        assertThat(first.next().state()).isEqualTo(NodeState.EJECTED);

        HealthRules.Outcome second = HealthRules.probeSucceeded("replica-1", first.next(), replicaAt(2000), 2000, false, this.settings, NOW);
        assertThat(second.next().state()).isEqualTo(NodeState.UP);
        assertThat(second.next().reason()).isNull();
        assertThat(second.change()).isEqualTo(new HealthRules.Change(RoutingEvent.Type.READMITTED, RoutingEvent.Cause.PROBE,
            "node 'replica-1' is readmitted after 2 good probes (was out: 3 probes failed: refused)"));
    }

    @Test
    void shouldReadmitTheOnlyPossibleWriterAfterOneGoodProbe() {
        ProbeResult primary = new ProbeResult(NodeRole.PRIMARY, 7000, null, LATENCY);
        HealthRules.Outcome outcome = HealthRules.probeSucceeded("primary", ejected("acquisition failed: reset", 0), primary, -1, true,
            this.settings, NOW);
        assertThat(outcome.next().state()).isEqualTo(NodeState.UP);
        assertThat(outcome.change().message()).isEqualTo("node 'primary' is readmitted after 1 good probe (was out: acquisition failed: reset)");
    }

    @Test
    void shouldKeepALaggingReplicaOutWithTheNewFigureAndReadmitItForLagOnceCaughtUp() {
        NodeHealth out = ejected("lag 1500 bytes exceeds health.maxLagBytes 1000", 0);
        HealthRules.Outcome still = HealthRules.probeSucceeded("replica-1", out, replicaAt(0), 3000, false, this.settings, NOW);
        assertThat(still.change()).isNull();
        assertThat(still.next().reason()).isEqualTo("lag 3000 bytes exceeds health.maxLagBytes 1000");

        HealthRules.Outcome caughtUp = HealthRules.probeSucceeded("replica-1", still.next().withCounts(0, 1), replicaAt(3000), 3000, false,
            this.settings, NOW);
        assertThat(caughtUp.next().state()).isEqualTo(NodeState.UP);
        assertThat(caughtUp.change().cause()).isEqualTo(RoutingEvent.Cause.LAG);
    }

    @Test
    void shouldBoundLagInTimeWhenConfigured() {
        HealthSettings timed = HealthSettings.builder().maxLagTime(Duration.ofSeconds(2)).build();
        assertThat(HealthRules.lagProblem(-1, Duration.ofSeconds(3), timed)).isEqualTo("lag 3000ms exceeds health.maxLagTime 2000ms");
        assertThat(HealthRules.lagProblem(-1, Duration.ofSeconds(1), timed)).isNull();
        assertThat(HealthRules.lagProblem(-1, null, timed)).as("unknown lag").isNull();
        assertThat(HealthRules.lagProblem(1_000_000, Duration.ofSeconds(1), timed)).as("no byte bound set").isNull();
    }

    @Test
    void shouldSayWhenANodeReportsAnotherRole() {
        assertThat(HealthRules.roleMismatch("replica-1", NodeRole.REPLICA, NodeRole.UNKNOWN, NodeRole.PRIMARY))
            .isEqualTo("node 'replica-1' (configured as replica) reports it is primary");
        assertThat(HealthRules.roleMismatch("primary", NodeRole.PRIMARY, NodeRole.PRIMARY, NodeRole.REPLICA))
            .isEqualTo("node 'primary' (configured as primary) reports it is replica, was primary");
        assertThat(HealthRules.roleMismatch("replica-1", NodeRole.REPLICA, NodeRole.UNKNOWN, NodeRole.REPLICA)).as("as configured").isNull();
        assertThat(HealthRules.roleMismatch("replica-1", NodeRole.REPLICA, NodeRole.PRIMARY, NodeRole.UNKNOWN)).as("does not tell").isNull();
        assertThat(HealthRules.roleMismatch("replica-1", NodeRole.REPLICA, NodeRole.PRIMARY, NodeRole.PRIMARY)).as("no change").isNull();
    }

    private static final HealthRules.Lending IDLE = new HealthRules.Lending(0, Duration.ofHours(1), false);

    private final HealthSettings failing = HealthSettings.builder().failuresToEject(3).timeout(Duration.ofMillis(500)).build();

    private HealthRules.Failure failed(NodeHealth old, NodeRole role, boolean timedOut, HealthRules.Lending lending) {
        return HealthRules.probeFailed("replica-1", old, role, "timed out", LATENCY, timedOut, lending, this.failing, NOW);
    }

    @Test
    void shouldCountFailedProbesAndEjectAtFailuresToEject() {
        HealthRules.Failure first = failed(NodeHealth.initial(), NodeRole.REPLICA, false, IDLE);
        assertThat(first.next().state()).isEqualTo(NodeState.UP);
        assertThat(first.next().failures()).isEqualTo(1);
        assertThat(first.next().lastError()).isEqualTo("timed out");
        assertThat(first.next().lastProbe()).isEqualTo(NOW);
        assertThat(first.change()).isNull();
        assertThat(first.eject()).isFalse();

        HealthRules.Failure third = failed(first.next().withCounts(2, 0), NodeRole.REPLICA, false, IDLE);
        assertThat(third.next().state()).isEqualTo(NodeState.EJECTED);
        assertThat(third.next().reason()).isEqualTo("3 probes failed: timed out");
        assertThat(third.change()).isEqualTo(new HealthRules.Change(RoutingEvent.Type.EJECTED, RoutingEvent.Cause.PROBE,
            "node 'replica-1' is ejected: 3 probes failed: timed out"));
        assertThat(third.eject()).isTrue();
        assertThat(third.abort()).as("refused, not timed out: nothing hangs").isFalse();
    }

    @Test
    void shouldAbortTheConnectionsOfAReplicaEjectedAfterTimeouts() {
        HealthRules.Failure failure = failed(NodeHealth.initial().withCounts(2, 0), NodeRole.REPLICA, true, IDLE);
        assertThat(failure.eject()).isTrue();
        assertThat(failure.abort()).isTrue();
        HealthRules.Failure primary = failed(NodeHealth.initial().withCounts(2, 0), NodeRole.PRIMARY, true, IDLE);
        assertThat(primary.eject()).isTrue();
        assertThat(primary.abort()).as("a primary's connections are left to their own timeouts").isFalse();
    }

    @Test
    void shouldEjectAStalledReplicaAtItsFirstTimedOutProbe() {
        HealthRules.Failure stalled = failed(NodeHealth.initial(), NodeRole.REPLICA, true, new HealthRules.Lending(4, Duration.ofMillis(800), false));
        assertThat(stalled.next().reason()).isEqualTo("stalled: timed out and none of its 4 connection(s) in use came back for 800ms");
        assertThat(stalled.eject()).isTrue();
        assertThat(stalled.abort()).isTrue();

        HealthRules.Failure quietAmongOthers = failed(NodeHealth.initial(), NodeRole.REPLICA, true,
            new HealthRules.Lending(4, Duration.ofMillis(200), true));
        assertThat(quietAmongOthers.eject()).as("quiet while the other readers answered").isTrue();

        assertThat(failed(NodeHealth.initial(), NodeRole.REPLICA, false, new HealthRules.Lending(4, Duration.ofMillis(800), true)).eject())
            .as("a refused probe is not a stall").isFalse();
        assertThat(failed(NodeHealth.initial(), NodeRole.PRIMARY, true, new HealthRules.Lending(4, Duration.ofMillis(800), true)).eject())
            .as("the stall rule is for replicas").isFalse();
        assertThat(failed(NodeHealth.initial(), NodeRole.REPLICA, true, new HealthRules.Lending(4, Duration.ofMillis(200), false)).eject())
            .as("connections came back recently").isFalse();
        assertThat(failed(NodeHealth.initial(), NodeRole.REPLICA, true, new HealthRules.Lending(0, Duration.ofHours(1), true)).eject())
            .as("nothing lent").isFalse();
    }

    @Test
    void shouldKeepAJoiningNodeOutWithTheErrorAndAnOutNodeOutSilently() {
        NodeHealth joining = NodeHealth.initial().withState(NodeState.EJECTED, HealthRules.JOINING);
        HealthRules.Failure failure = failed(joining, NodeRole.REPLICA, true, new HealthRules.Lending(4, Duration.ofMillis(800), true));
        assertThat(failure.next().reason()).isEqualTo("joining: probe failed: timed out");
        assertThat(HealthRules.joining(failure.next())).isTrue();
        assertThat(failure.change()).isNull();
        assertThat(failure.eject()).isFalse();
        assertThat(failure.abort()).isFalse();

        HealthRules.Failure out = failed(ejected("3 probes failed: refused", 1).withCounts(5, 1), NodeRole.REPLICA, true, IDLE);
        assertThat(out.next().reason()).isEqualTo("3 probes failed: refused");
        assertThat(out.next().failures()).isEqualTo(6);
        assertThat(out.next().successes()).isZero();
        assertThat(out.change()).isNull();
        assertThat(out.eject()).isFalse();
    }
}
