package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;

import org.junit.jupiter.api.Test;

/** The decisions of a session read's wait on a MariaDB replica, from what {@code SHOW REPLICA STATUS} says; pure logic. */
class GtidWaitTests {

    private static MariaDbDialect.Replication status(boolean sqlRunning, boolean appliedAllReceived, String executed) {
        return new MariaDbDialect.Replication(Optional.empty(), "Slave_Pos", appliedAllReceived, sqlRunning, executed);
    }

    @Test
    void shouldGiveUpAtOnceWhenTheSqlThreadIsStoppedOrTheNodeDoesNotReplicate() {
        assertThat(GtidWait.next(status(false, false, "bin.000001:400"), null)).isEqualTo(GtidWait.Next.GIVE_UP);
        assertThat(GtidWait.next(status(false, false, "bin.000001:400"), status(true, false, "bin.000001:300")))
            .isEqualTo(GtidWait.Next.GIVE_UP);
        assertThat(GtidWait.next(null, null)).as("no replication row").isEqualTo(GtidWait.Next.GIVE_UP);
    }

    @Test
    void shouldWaitTheRestWhenTheReplicaAppliedAllItReceived() {
        assertThat(GtidWait.next(status(true, true, "bin.000001:400"), null)).isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(status(true, true, "bin.000001:400"), status(true, true, "bin.000001:400")))
            .as("nothing to apply, twice: what it needs is on its way").isEqualTo(GtidWait.Next.WAIT);
    }

    @Test
    void shouldLookAgainOnceWhenTheReplicaHasTransactionsToApply() {
        assertThat(GtidWait.next(status(true, false, "bin.000001:400"), null)).isEqualTo(GtidWait.Next.LOOK_AGAIN);
    }

    @Test
    void shouldWaitTheRestWhileApplyingMovesAndGiveUpWhenItStandsStill() {
        MariaDbDialect.Replication first = status(true, false, "bin.000001:400");
        assertThat(GtidWait.next(status(true, false, "bin.000001:900"), first)).isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(status(true, false, "bin.000002:4"), first)).as("into the next file").isEqualTo(GtidWait.Next.WAIT);
        assertThat(GtidWait.next(status(true, false, "bin.000001:400"), first)).as("held by a lock").isEqualTo(GtidWait.Next.GIVE_UP);
    }
}
