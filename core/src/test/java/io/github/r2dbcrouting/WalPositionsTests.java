package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.r2dbc.spi.R2dbcTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/** How sessions get a WAL position: the coalescing and ordering logic alone, on stub nodes and stub queries. */
class WalPositionsTests {

    private final List<Node> nodes = new ArrayList<>();

    /** Each query a test's WalPositions sent, per node, in order; the test answers them. */
    private final Map<Node, List<Sinks.One<Long>>> queries = new HashMap<>();

    @AfterEach
    void closePools() {
        this.nodes.forEach(node -> node.lease.pool.disposeLater().block(Duration.ofSeconds(5)));
    }

    private Node node(String name) {
        Node node = new Node(name, NodeRole.PRIMARY, new StubConnectionFactory(name), System::nanoTime, TestPools.defaults());
        this.nodes.add(node);
        return node;
    }

    private WalPositions positions() {
        return new WalPositions(node -> {
            Sinks.One<Long> answer = Sinks.one();
            this.queries.computeIfAbsent(node, n -> new ArrayList<>()).add(answer);
            return answer.asMono().map(WalPosition::new);
        }, Duration.ofSeconds(1), Schedulers.parallel());
    }

    /** The position in bytes, as the tests answer and compare them. */
    private static Mono<Long> bytes(Mono<? extends Position> position) {
        return position.map(at -> ((WalPosition) at).bytes());
    }

    private List<Sinks.One<Long>> sent(Node node) {
        return this.queries.getOrDefault(node, List.of());
    }

    @Test
    void shouldServeEverySessionWaitingAtOnceWithOneQuery() {
        Node primary = node("primary");
        WalPositions positions = positions();
        long first = WalPositions.tick();
        long second = WalPositions.tick();
        Mono<Long> a = bytes(positions.after(primary, first));
        Mono<Long> b = bytes(positions.after(primary, second));
        assertThat(sent(primary)).as("one query for both").hasSize(1);

        sent(primary).get(0).tryEmitValue(1000L);
        StepVerifier.create(a).expectNext(1000L).verifyComplete();
        StepVerifier.create(b).expectNext(1000L).verifyComplete();
        assertThat(sent(primary)).hasSize(1);
    }

    @Test
    void shouldSendOneQueryAfterTheOneUnderWayForWritesReleasedAfterItWasSent() {
        Node primary = node("primary");
        WalPositions positions = positions();
        Mono<Long> early = bytes(positions.after(primary, WalPositions.tick()));
        // released after the first query went out: their commits may be past what that query reads
        Mono<Long> late = bytes(positions.after(primary, WalPositions.tick()));
        Mono<Long> later = bytes(positions.after(primary, WalPositions.tick()));
        assertThat(sent(primary)).as("one query at a time").hasSize(1);

        sent(primary).get(0).tryEmitValue(1000L);
        StepVerifier.create(early).expectNext(1000L).verifyComplete();
        assertThat(sent(primary)).as("the late ones share the next query, sent once the first is done").hasSize(2);
        sent(primary).get(1).tryEmitValue(1200L);
        StepVerifier.create(late).expectNext(1200L).verifyComplete();
        StepVerifier.create(later).expectNext(1200L).verifyComplete();

        // a write released before the second query went out needs no other
        StepVerifier.create(bytes(positions.after(primary, WalPositions.tick() - 1))).expectNext(1200L).verifyComplete();
        assertThat(sent(primary)).hasSize(2);
        bytes(positions.after(primary, WalPositions.tick())).subscribe();
        assertThat(sent(primary)).as("a write released after the last query").hasSize(3);
    }

    @Test
    void shouldSendTheQueuedQueryEvenWhenTheOneUnderWayFails() {
        Node primary = node("primary");
        WalPositions positions = positions();
        Mono<Long> early = bytes(positions.after(primary, WalPositions.tick()));
        Mono<Long> late = bytes(positions.after(primary, WalPositions.tick()));
        sent(primary).get(0).tryEmitError(new IllegalStateException("connection reset"));
        StepVerifier.create(early).verifyErrorMessage("connection reset");
        assertThat(sent(primary)).hasSize(2);
        sent(primary).get(1).tryEmitValue(7L);
        StepVerifier.create(late).expectNext(7L).verifyComplete();
    }

    @Test
    void shouldUseTheLastProbeOnlyWhenItWasSentAfterTheWriteWasReleased() {
        Node primary = node("primary");
        WalPositions positions = positions();
        long probeBefore = WalPositions.nextTick();
        long released = WalPositions.tick();
        positions.probed(primary, new ProbeResult(NodeRole.PRIMARY, 500, null, Duration.ofMillis(1), null, probeBefore));
        Mono<Long> stale = bytes(positions.after(primary, released));
        assertThat(sent(primary)).as("a probe sent before the release does not cover the write").hasSize(1);
        sent(primary).get(0).tryEmitValue(600L);
        StepVerifier.create(stale).expectNext(600L).verifyComplete();

        long releasedLater = WalPositions.tick();
        positions.probed(primary, new ProbeResult(NodeRole.PRIMARY, 700, null, Duration.ofMillis(1), null, WalPositions.nextTick()));
        StepVerifier.create(bytes(positions.after(primary, releasedLater))).as("a probe sent after the release does").expectNext(700L)
            .verifyComplete();
        assertThat(sent(primary)).as("no query for it").hasSize(1);
    }

    @Test
    void shouldIgnoreProbesOfReplicasAndOfAnotherPrimary() {
        Node primary = node("primary");
        Node other = node("old-primary");
        WalPositions positions = positions();
        long released = WalPositions.tick();
        positions.probed(primary, new ProbeResult(NodeRole.REPLICA, 900, Duration.ZERO, Duration.ofMillis(1), null, WalPositions.nextTick()));
        positions.probed(other, new ProbeResult(NodeRole.PRIMARY, 900, null, Duration.ofMillis(1), null, WalPositions.nextTick()));
        positions.probed(primary, new ProbeResult(NodeRole.PRIMARY, 900, null, Duration.ofMillis(1)));
        bytes(positions.after(primary, released)).subscribe();
        assertThat(sent(primary)).as("none of those probes qualifies").hasSize(1);
    }

    @Test
    void shouldStartAFreshQueryAfterOneFailedAndFailEveryoneWhoJoinedIt() {
        Node primary = node("primary");
        WalPositions positions = positions();
        long released = WalPositions.tick();
        Mono<Long> a = bytes(positions.after(primary, released));
        Mono<Long> b = bytes(positions.after(primary, released));
        sent(primary).get(0).tryEmitError(new IllegalStateException("connection reset"));
        StepVerifier.create(a).verifyErrorMessage("connection reset");
        StepVerifier.create(b).verifyErrorMessage("connection reset");

        Mono<Long> retried = bytes(positions.after(primary, released));
        assertThat(sent(primary)).as("a failed query is not joined").hasSize(2);
        sent(primary).get(1).tryEmitValue(42L);
        StepVerifier.create(retried).expectNext(42L).verifyComplete();
    }

    @Test
    void shouldTreatAMissingPositionAsAFailure() {
        Node primary = node("primary");
        WalPositions positions = new WalPositions(node -> Mono.empty(), Duration.ofSeconds(1), Schedulers.parallel());
        StepVerifier.create(bytes(positions.after(primary, WalPositions.tick())))
            .verifyErrorMessage("node 'primary' reported no write position");
    }

    @Test
    void shouldGiveUpOnAQueryThatHangsAfterTheTimeoutNamingTheNode() {
        Node primary = node("primary");
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        WalPositions positions = new WalPositions(node -> Mono.never(), Duration.ofMillis(500), time);
        long released = WalPositions.tick();
        Mono<Long> hanging = bytes(positions.after(primary, released));
        CompletableFuture<Long> result = hanging.toFuture();
        time.advanceTimeBy(Duration.ofMillis(499));
        assertThat(result).isNotDone();
        time.advanceTimeBy(Duration.ofMillis(1));
        assertThat(result).isCompletedExceptionally();
        StepVerifier.create(hanging)
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcTimeoutException.class)
                .hasMessage("node 'primary': reading the write position for consistency sessions took longer than 500ms"))
            .verify(Duration.ofSeconds(5));
    }

    @Test
    void shouldSettleASessionAndKeepAWriteReleasedMeanwhileUnsettled() {
        ConsistencySession session = ConsistencySession.create();
        assertThat(session.blank()).isTrue();
        Sinks.One<Long> answer = Sinks.one();
        List<Long> asked = new ArrayList<>();
        ConsistencySession.Source source = tick -> {
            asked.add(tick);
            return answer.asMono().map(WalPosition::new);
        };
        long first = WalPositions.nextTick();
        session.wrote(first, source);
        assertThat(session.blank()).isFalse();
        assertThat(session.unsettled()).isTrue();
        assertThat(session.position()).as("no I/O on release").isZero();

        Mono<Long> settling = bytes(session.settle());
        StepVerifier.create(settling)
            .then(() -> session.wrote(WalPositions.nextTick(), source))
            .then(() -> answer.tryEmitValue(0x500L))
            .expectNext(0x500L)
            .verifyComplete();
        assertThat(asked).containsExactly(first);
        assertThat(session.position()).isEqualTo(0x500L);
        assertThat(session.unsettled()).as("the write released while settling is not covered").isTrue();
        assertThat(session.toToken()).isEqualTo("v1.500");
    }

    @Test
    void shouldSettleAtOnceWhenNothingIsUnsettled() {
        ConsistencySession session = ConsistencySession.fromToken("v1.2A");
        StepVerifier.create(bytes(session.settle())).expectNext(0x2AL).verifyComplete();
        StepVerifier.create(session.settled()).verifyComplete();
        assertThat(session.blank()).isFalse();
        assertThat(session.unsettled()).isFalse();
    }
}
