package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.github.r2dbcrouting.testkit.Await;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Which replica new reads avoid because it stopped giving connections back, on stub nodes whose
 * clock and returns the test drives.
 */
class SuspicionTests {

    private static final long MS = 1_000_000L;

    private final AtomicLong now = new AtomicLong(1_000 * MS);

    private final List<Node> nodes = new ArrayList<>();

    private final List<Connection> lent = new ArrayList<>();

    @AfterEach
    void closePools() {
        this.lent.forEach(connection -> Mono.from(connection.close()).block(Duration.ofSeconds(5)));
        this.nodes.forEach(node -> node.lease.pool.disposeLater().block(Duration.ofSeconds(5)));
    }

    /** A replica whose connections are stubs that do nothing; the test decides when one comes back. */
    private Node node(String name) {
        ConnectionFactory stubs = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return Mono.fromSupplier(SuspicionTests::stubConnection);
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "Stub";
            }
        };
        Node node = new Node(name, NodeRole.REPLICA, stubs, this.now::get, TestPools.with(PoolSettings.builder().maxSize(8).build()));
        this.nodes.add(node);
        return node;
    }

    /** A connection that answers every call with nothing (and {@code validate} with true). */
    private static Connection stubConnection() {
        return (Connection) Proxy.newProxyInstance(SuspicionTests.class.getClassLoader(), new Class<?>[] {Connection.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "validate" -> Mono.just(true);
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "toString" -> "StubConnection";
                default -> Publisher.class.isAssignableFrom(method.getReturnType()) ? Mono.empty() : null;
            });
    }

    /** One connection of {@code node} lent out and kept. */
    private void lend(Node node) {
        Connection connection = Mono.from(node.lease.pool.acquire).block(Duration.ofSeconds(5));
        this.lent.add(connection);
        assertThat(node.lease.acquired()).isPositive();
    }

    /** {@code node} gives a connection back at the current time: the pool reads its clock, then calls its hooks. */
    private static void returns(Node node) {
        node.activity.millis();
        node.activity.recordResetLatency(0);
        node.activity.recordRecycled();
    }

    /** Both nodes give connections back every {@code everyMs}, alternating, {@code times} times each. */
    private void steadyPace(Node a, Node b, int times, long everyMs) {
        for (int i = 0; i < times; i++) {
            this.now.addAndGet(everyMs * MS);
            returns(a);
            this.now.addAndGet(everyMs * MS);
            returns(b);
        }
    }

    @Test
    void shouldSuspectOnlyANodeWithConnectionsOutThatStayedQuietForSeveralUsualGaps() {
        long gap = 2 * MS;
        assertThat(Suspicion.suspect(Suspicion.GAPS * gap + 1, gap, 3)).isTrue();
        assertThat(Suspicion.suspect(Suspicion.GAPS * gap, gap, 3)).as("within its usual pace").isFalse();
        assertThat(Suspicion.suspect(Duration.ofHours(1).toNanos(), gap, 0)).as("nothing lent out: idle, not stuck").isFalse();
        assertThat(Suspicion.suspect(Suspicion.MIN_QUIET_NANOS, 1, 3)).as("never below the floor, however fast the pace").isFalse();
        assertThat(Suspicion.suspect(Suspicion.MIN_QUIET_NANOS + 1, 1, 3)).isTrue();
        assertThat(Suspicion.suspect(Suspicion.MIN_QUIET_NANOS + 1, 0, 3)).as("pace unknown yet: the floor alone").isTrue();
    }

    @Test
    void shouldAverageTheGapBetweenReturnsOverAboutEightAndCapAnIdleSpell() {
        assertThat(Suspicion.nextUsualGap(0, 4 * MS)).as("first sample").isEqualTo(4 * MS);
        assertThat(Suspicion.nextUsualGap(4 * MS, 12 * MS)).isEqualTo(5 * MS);
        assertThat(Suspicion.nextUsualGap(4 * MS, Duration.ofHours(1).toNanos()))
            .as("an hour idle (or frozen) is no pace: the average stays").isEqualTo(4 * MS);
        assertThat(Suspicion.nextUsualGap(4 * MS, Suspicion.MAX_GAP_NANOS)).isEqualTo(4 * MS + (Suspicion.MAX_GAP_NANOS - 4 * MS) / 8);
        assertThat(Suspicion.nextUsualGap(4 * MS, -5)).as("a clock that went back counts as 0").isEqualTo(4 * MS - 4 * MS / 8);
        long usual = Suspicion.MAX_GAP_NANOS;
        for (int i = 0; i < 100; i++) {
            usual = Suspicion.nextUsualGap(usual, MS);
        }
        assertThat(usual).as("back to the pace after a hundred returns").isBetween(MS, 2 * MS);
    }

    @Test
    void shouldSendNewReadsElsewhereWhenTheChosenReplicaStoppedGivingConnectionsBack() {
        Node frozen = node("replica-1");
        Node healthy = node("replica-2");
        List<Node> readers = List.of(frozen, healthy);
        steadyPace(frozen, healthy, 50, 1);
        lend(frozen);
        lend(healthy);
        assertThat(Suspicion.select(readers, 0)).as("both keep pace").isEqualTo(0);

        // replica-1 freezes: replica-2 goes on returning, replica-1 nothing
        for (int i = 0; i < 3; i++) {
            this.now.addAndGet(MS);
            returns(healthy);
        }
        assertThat(Suspicion.select(readers, 0)).as("3 ms quiet, usual gap 2 ms: not yet").isEqualTo(0);
        for (int i = 0; i < 10; i++) {
            this.now.addAndGet(MS);
            returns(healthy);
        }
        assertThat(Suspicion.select(readers, 0)).as("14 ms quiet with a connection out").isEqualTo(1);
        assertThat(Suspicion.select(readers, 1)).as("a pick of the healthy one stands").isEqualTo(1);

        // it thaws and gives a connection back: it is a candidate again at once
        returns(frozen);
        assertThat(Suspicion.select(readers, 0)).isEqualTo(0);
    }

    @Test
    void shouldSuspectNoNodeWhenNoNodeGivesConnectionsBack() {
        Node a = node("replica-1");
        Node b = node("replica-2");
        steadyPace(a, b, 50, 1);
        lend(a);
        lend(b);
        // the client itself pauses (a GC, a starved CPU) or both servers freeze: nothing comes back anywhere
        this.now.addAndGet(Duration.ofSeconds(5).toNanos());
        assertThat(Suspicion.select(List.of(a, b), 0)).isEqualTo(0);
        assertThat(Suspicion.select(List.of(a, b), 1)).isEqualTo(1);
    }

    @Test
    void shouldNeverLeaveAReadWithoutAReplicaBecauseOfSuspicionAlone() {
        Node first = node("replica-1");
        Node second = node("replica-2");
        Node third = node("replica-3");
        steadyPace(first, second, 50, 1);
        returns(third);
        lend(first);
        lend(second);
        lend(third);
        // the third returned last: the two others are quiet against it, it is not
        for (int i = 0; i < 20; i++) {
            this.now.addAndGet(MS);
            returns(third);
        }
        List<Node> readers = List.of(first, second, third);
        assertThat(Suspicion.select(readers, 0)).as("the next candidate that is not suspect").isEqualTo(2);
        assertThat(Suspicion.select(readers, 1)).isEqualTo(2);
        // then the third freezes too, after the others: the one that answered last still takes reads
        this.now.addAndGet(Duration.ofSeconds(5).toNanos());
        assertThat(Suspicion.select(readers, 0)).isEqualTo(2);
        assertThat(Suspicion.select(List.of(first), 0)).as("a single replica is never avoided").isEqualTo(0);
    }

    @Test
    void shouldSuspectAFastReplicaWithinAFractionOfAMillisecond() {
        // at 20+ reads per millisecond (a warm JVM, 16 readers) every reader had moved onto a frozen
        // replica before the old 1 ms floor passed; then nobody answered and nothing could be suspect
        assertThat(Suspicion.suspect(250_000, 50_000, 8)).isTrue();
        assertThat(Suspicion.suspect(150_000, 10_000, 8)).as("under the 200 microsecond floor").isFalse();
        assertThat(Suspicion.MIN_QUIET_NANOS).isEqualTo(200_000);
    }

    @Test
    void shouldNotSuspectAQuietNodeThatHasNothingLentOut() {
        Node idle = node("replica-1");
        Node busy = node("replica-2");
        steadyPace(idle, busy, 50, 1);
        lend(busy);
        for (int i = 0; i < 100; i++) {
            this.now.addAndGet(MS);
            returns(busy);
        }
        assertThat(Suspicion.select(List.of(idle, busy), 0)).isEqualTo(0);
    }

    @Test
    void shouldSendNewReadsElsewhereWhenAQuietReplicaHoldsFarMoreConnectionsThanTheOther() {
        assertThat(Suspicion.crowded(5, 1)).isTrue();
        assertThat(Suspicion.crowded(4, 1)).isFalse();
        assertThat(Suspicion.crowded(3, 0)).isTrue();
        Node slowing = node("replica-1");
        Node healthy = node("replica-2");
        List<Node> readers = List.of(slowing, healthy);
        // the slowing one returned last: not quiet at all (the floor is 200 microseconds)
        steadyPace(healthy, slowing, 50, 1);
        for (int i = 0; i < 5; i++) {
            lend(slowing);
        }
        lend(healthy);
        assertThat(Suspicion.select(readers, 0)).as("it gave a connection back no longer ago than the other").isEqualTo(0);
        this.now.addAndGet(2 * MS);
        returns(healthy);
        assertThat(Suspicion.select(readers, 0)).as("2 ms quiet (not yet suspect) holding 5 against 1").isEqualTo(1);
        assertThat(Suspicion.select(readers, 1)).isEqualTo(1);
    }

    @Test
    void shouldTellTheStallRuleThatANodeWasQuietWhileTheOthersAnswered() {
        Node frozen = node("replica-1");
        Node healthy = node("replica-2");
        List<Node> readers = List.of(frozen, healthy);
        steadyPace(frozen, healthy, 50, 1);
        lend(frozen);
        assertThat(Suspicion.quietAmong(frozen, readers)).isFalse();
        for (int i = 0; i < 20; i++) {
            this.now.addAndGet(MS);
            returns(healthy);
        }
        assertThat(Suspicion.quietAmong(frozen, readers)).isTrue();
        assertThat(Suspicion.quietAmong(frozen, List.of(frozen))).as("no other replica: no comparison").isFalse();
        assertThat(Suspicion.quietAmong(healthy, readers)).as("nothing out").isFalse();
    }

    @Test
    void shouldCountReadsWaitingForAConnectionAsOutstanding() {
        assertThat(Suspicion.outstanding(null)).isZero();
        Node node = node("replica-1");
        lend(node);
        assertThat(Suspicion.outstanding(node.lease.metrics)).isEqualTo(1);
    }

    @Test
    void shouldCountAsLentOnlyConnectionsDeliveredNotAcquisitionsWaitingForOneBeingOpened() {
        assertThat(Suspicion.lent(null)).isZero();
        ConnectionFactory opening = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return Mono.never();
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "Stub";
            }
        };
        NodePool pool = new NodePool("suspicion-tests", PoolSettings.builder().maxSize(4).initialSize(0)
            .maxCreateConnectionTime(Duration.ofMinutes(1)).build(), opening, new NodeActivity(System::nanoTime));
        reactor.core.Disposable waiting = pool.acquire.subscribe();
        try {
            Await.until("the acquisition waiting for its connection", Duration.ofSeconds(5),
                () -> Suspicion.outstanding(pool.metrics) > 0);
            assertThat(Suspicion.lent(pool.metrics)).as("nothing delivered, nothing lent").isZero();
        } finally {
            waiting.dispose();
            pool.disposeLater().block(Duration.ofSeconds(5));
        }
        Node node = node("replica-1");
        lend(node);
        assertThat(Suspicion.lent(node.lease.metrics)).isEqualTo(1);
    }

    @Test
    void shouldTakeAConnectionThatOpensAsASignOfLife() {
        Node node = node("replica-1");
        this.now.addAndGet(5_000 * MS);
        assertThat(node.activity.quiet()).isEqualTo(Duration.ofMillis(5_000));
        ConnectionFactory opens = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return Mono.fromSupplier(SuspicionTests::stubConnection);
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "Stub";
            }
        };
        Connection opened = Mono.from(node.activity.tracking(opens).create()).block(Duration.ofSeconds(5));
        assertThat(opened).isNotNull();
        assertThat(node.activity.quiet()).as("a server that opens a connection is not frozen").isZero();
        assertThat(node.activity.lastReturn()).as("no return noted: the pace is the returns'").isEqualTo(1_000 * MS);
    }

    @Test
    void shouldKeepTheUsualPaceAcrossAnOutageSoThatASlowReadmittedReplicaIsAvoided() {
        Node thawed = node("replica-1");
        Node healthy = node("replica-2");
        steadyPace(thawed, healthy, 50, 1);
        long pace = thawed.activity.usualGap();
        // out for 5 s while the other serves every read
        for (int i = 0; i < 5000; i++) {
            this.now.addAndGet(MS);
            returns(healthy);
        }
        // back: its first connection came back after the outage, the next ones are slow to open
        returns(thawed);
        assertThat(thawed.activity.usualGap()).as("the outage is not a pace").isEqualTo(pace);
        lend(thawed);
        lend(healthy);
        for (int i = 0; i < 20; i++) {
            this.now.addAndGet(MS);
            returns(healthy);
        }
        assertThat(Suspicion.select(List.of(thawed, healthy), 0)).isEqualTo(1);
    }

    @Test
    void shouldMeasureThePaceFromThePoolsOwnReleaseHooks() {
        Node node = node("replica-1");
        this.now.addAndGet(3 * MS);
        node.activity.millis();
        node.activity.recordResetLatency(0);
        long first = node.activity.usualGap();
        long released = this.now.get();
        assertThat(node.activity.lastReturn()).isEqualTo(released);
        this.now.addAndGet(3 * MS);
        // reactor-pool calls recordRecycled only right after recordResetLatency, for the same release
        node.activity.recordRecycled();
        assertThat(node.activity.usualGap()).as("one release calls both hooks: only one measures").isEqualTo(first);
        assertThat(node.activity.lastReturn()).as("and only one notes the return").isEqualTo(released);
    }

    @Test
    void shouldNoteAReturnAtTheTimeThePoolReleasedTheConnectionWithoutAClockReadOfItsOwn() {
        Node node = node("replica-1");
        Connection connection = Mono.from(node.lease.pool.acquire).block(Duration.ofSeconds(5));
        this.now.addAndGet(7 * MS);
        long released = this.now.get();
        Mono.from(connection.close()).block(Duration.ofSeconds(5));
        assertThat(node.activity.lastReturn()).as("the release noted at the pool's own clock reading").isEqualTo(released);
        assertThat(node.activity.quiet()).isZero();
    }
}
