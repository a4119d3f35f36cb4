package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When a session read stops waiting for a replica: the decision alone, on made-up looks. */
class ReplayWaitTests {

    private static final long MS = 1_000_000;

    private static final long DEADLINE = 1000 * MS;

    @Test
    void shouldReadOnTheReplicaOnceItReplayedTheSessionsWrites() {
        assertThat(ReplayWait.next(500, new ReplayWait.Look(500, 500, 0), null, DEADLINE)).isEqualTo(ReplayWait.Next.READ_HERE);
        assertThat(ReplayWait.next(500, new ReplayWait.Look(900, 900, 2000 * MS), null, DEADLINE))
            .as("even past the deadline").isEqualTo(ReplayWait.Next.READ_HERE);
    }

    @Test
    void shouldLookTwiceBeforeJudgingTheRate() {
        assertThat(ReplayWait.next(500, new ReplayWait.Look(100, 500, 0), null, DEADLINE)).isEqualTo(ReplayWait.Next.LOOK_AGAIN);
    }

    @Test
    void shouldGoToThePrimaryAtOnceWhenReplayStallsWithWalReceived() {
        ReplayWait.Look first = new ReplayWait.Look(100, 500, 0);
        ReplayWait.Look second = new ReplayWait.Look(100, 500, 10 * MS);
        assertThat(ReplayWait.next(500, second, first, DEADLINE)).isEqualTo(ReplayWait.Next.GIVE_UP);
    }

    @Test
    void shouldKeepWaitingWhileTheWritesAreStillOnTheirWay() {
        ReplayWait.Look first = new ReplayWait.Look(100, 100, 0);
        ReplayWait.Look second = new ReplayWait.Look(100, 100, 10 * MS);
        assertThat(ReplayWait.next(500, second, first, DEADLINE)).as("replayed all it received").isEqualTo(ReplayWait.Next.LOOK_AGAIN);
        ReplayWait.Look unknown = new ReplayWait.Look(100, -1, 10 * MS);
        assertThat(ReplayWait.next(500, unknown, first, DEADLINE)).as("receive position unknown").isEqualTo(ReplayWait.Next.LOOK_AGAIN);
    }

    @Test
    void shouldWaitOnlyWhileTheReplayRateGetsThereBeforeTheDeadline() {
        ReplayWait.Look first = new ReplayWait.Look(0, 10_000, 0);
        // 50 bytes per 10 ms: the rest takes about 2 s more, past the deadline
        assertThat(ReplayWait.next(10_000, new ReplayWait.Look(50, 10_000, 10 * MS), first, DEADLINE)).isEqualTo(ReplayWait.Next.GIVE_UP);
        // 5,000 bytes per 10 ms: there in 10 ms more
        assertThat(ReplayWait.next(10_000, new ReplayWait.Look(5_000, 10_000, 10 * MS), first, DEADLINE)).isEqualTo(ReplayWait.Next.LOOK_AGAIN);
    }

    @Test
    void shouldGiveUpAtTheDeadline() {
        ReplayWait.Look first = new ReplayWait.Look(0, 0, 0);
        assertThat(ReplayWait.next(500, new ReplayWait.Look(100, 100, DEADLINE), first, DEADLINE)).isEqualTo(ReplayWait.Next.GIVE_UP);
        assertThat(ReplayWait.next(500, new ReplayWait.Look(100, 100, 0), null, 0)).as("sessionWait zero: one look").isEqualTo(ReplayWait.Next.GIVE_UP);
    }
}
