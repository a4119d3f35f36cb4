package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;

import org.junit.jupiter.api.Test;

/** The decisions of a session read's wait on a MariaDB replica, from what it says at each look; pure logic. */
class GtidWaitTests {

    private static GtidWait.Look look(boolean sqlRunning, boolean appliedAllReceived, String executed, long rowsChanged) {
        return new GtidWait.Look(new MariaDbDialect.Replication(Optional.empty(), "Slave_Pos", appliedAllReceived, sqlRunning, executed),
            rowsChanged);
    }

    @Test
    void shouldGiveUpAtOnceWhenTheSqlThreadIsStoppedOrTheNodeDoesNotReplicate() {
        assertThat(GtidWait.next(look(false, false, "bin.000001:400", 10), null)).isEqualTo(GtidWait.Next.GIVE_UP);
        assertThat(GtidWait.next(look(false, false, "bin.000001:400", 10), look(true, false, "bin.000001:300", 5)))
            .isEqualTo(GtidWait.Next.GIVE_UP);
        assertThat(GtidWait.next(new GtidWait.Look(null, 10), null)).as("no replication row").isEqualTo(GtidWait.Next.GIVE_UP);
    }

    @Test
    void shouldWaitOnWhileTheReplicaAppliedAllItReceived() {
        assertThat(GtidWait.next(look(true, true, "bin.000001:400", 10), null)).isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(look(true, true, "bin.000001:400", 10), look(true, true, "bin.000001:400", 10)))
            .as("nothing to apply, twice: what it needs is on its way").isEqualTo(GtidWait.Next.WAIT);
    }

    @Test
    void shouldLookAgainOnceWhenTheReplicaHasTransactionsToApply() {
        assertThat(GtidWait.next(look(true, false, "bin.000001:400", 10), null)).isEqualTo(GtidWait.Next.WAIT);
    }

    @Test
    void shouldWaitOnWhileApplyingMovesAndGiveUpWhenItStandsStill() {
        GtidWait.Look first = look(true, false, "bin.000001:400", 10);
        assertThat(GtidWait.next(look(true, false, "bin.000001:900", 10), first)).isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(look(true, false, "bin.000002:4", 10), first)).as("into the next file").isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(look(true, false, "bin.000001:400", 5_010), first))
            .as("inside a big transaction: the position moves at its commit only, the rows it changes move").isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(look(true, false, "bin.000001:400", 10), first)).as("held by a lock").isEqualTo(GtidWait.Next.GIVE_UP);
    }

    @Test
    void shouldGiveUpWhenAReplicaStallsAfterItWasSeenApplying() {
        GtidWait.Look moving = look(true, false, "bin.000001:900", 10);
        assertThat(GtidWait.next(look(true, false, "bin.000001:900", 10), moving)).isEqualTo(GtidWait.Next.GIVE_UP);
        assertThat(GtidWait.next(look(true, false, "bin.000001:900", 10), look(true, true, "bin.000001:900", 10)))
            .as("had applied all it received, then received: a backlog seen for the first time").isEqualTo(GtidWait.Next.WAIT);
    }
}
