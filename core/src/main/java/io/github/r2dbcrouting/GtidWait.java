package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.r2dbc.spi.Connection;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * How a session read waits on a MariaDB replica for its GTID position: the counterpart of
 * PostgreSQL's {@link ReplayWait}, so that {@code sessionWait} means the same on both families.
 * {@code MASTER_GTID_WAIT} answers as soon as the replica has applied the position, but it waits
 * out a replica that will not get there: one whose SQL thread is stopped (replication paused, or
 * stopped by an error) or stands still with a transaction it received and does not apply (held by
 * a lock). So the wait goes in slices, {@link #FIRST_SLICE} first and then twice as long each time
 * up to {@link #LONGEST_SLICE}, and after each slice that timed out a look decides:
 * <ul>
 * <li>SQL thread not running, or no replication any more: give up, the read goes to the primary;</li>
 * <li>it applied all it received: what it lacks is still on its way, wait on;</li>
 * <li>it has received more than it applied: the first time this is seen, wait on; when the previous
 * look saw it too, wait on if the replica made progress since (its executed position, or the rows
 * it changed: a big transaction moves the position only at its commit), give up if it stood still.</li>
 * </ul>
 * A replica that has applied the position answers the first slice at once: one round trip. A
 * stalled one is given up on after two slices and two looks, about 20 ms, or two looks after it
 * stalls, where {@code MASTER_GTID_WAIT} alone held the read for the whole {@code sessionWait}.
 */
final class GtidWait {

    /** The first slice of the wait, and the second: PostgreSQL's look interval. */
    static final Duration FIRST_SLICE = Duration.ofMillis(10);

    /** The longest slice between two looks: a replica that stalls late is given up on within about this. */
    static final Duration LONGEST_SLICE = Duration.ofMillis(200);

    /** What to do after a look at the replica. */
    enum Next {
        /** Wait one more slice for the position, then look again. */
        WAIT,
        /** The replica will not apply the position soon: read on the primary. */
        GIVE_UP
    }

    /**
     * One look at the replica.
     * @param status      its status row, {@code null} when it has none (not a replica)
     * @param rowsChanged the rows its threads changed so far, {@code -1} when unknown
     */
    record Look(MariaDbDialect.@Nullable Replication status, long rowsChanged) {

        /** Whether the replica applied anything since {@code previous}. */
        boolean progressedSince(Look previous) {
            MariaDbDialect.Replication before = previous.status();
            return this.status != null && (before == null || !this.status.executed().equals(before.executed())
                || this.rowsChanged != previous.rowsChanged());
        }
    }

    private GtidWait() {
    }

    /**
     * @param look     what the replica says now
     * @param previous the previous look on this read, {@code null} on the first
     */
    static Next next(Look look, @Nullable Look previous) {
        MariaDbDialect.Replication status = look.status();
        if (status == null || !status.sqlRunning()) {
            return Next.GIVE_UP;
        }
        if (status.appliedAllReceived() || previous == null || previous.status() == null || previous.status().appliedAllReceived()) {
            // nothing to apply, or a backlog seen for the first time (it may have arrived just now)
            return Next.WAIT;
        }
        return look.progressedSince(previous) ? Next.WAIT : Next.GIVE_UP;
    }

    /** Whether {@code replica} applies {@code position} before {@code deadline} (in {@code scheduler}'s nanoseconds). */
    static Mono<Boolean> await(Connection replica, GtidPosition position, long deadline, Scheduler scheduler) {
        return slice(replica, position, deadline, scheduler, FIRST_SLICE.toNanos(), null);
    }

    /** One {@code MASTER_GTID_WAIT} of at most {@code slice}; when it times out with time left, a look decides what comes next. */
    private static Mono<Boolean> slice(Connection replica, GtidPosition position, long deadline, Scheduler scheduler, long slice,
                                       @Nullable Look previous) {
        long left = deadline - scheduler.now(TimeUnit.NANOSECONDS);
        return applied(replica, position, Math.min(slice, left)).flatMap(done -> {
            if (done || deadline - scheduler.now(TimeUnit.NANOSECONDS) <= 0) {
                return Mono.just(done);
            }
            long next = previous == null ? slice : Math.min(2 * slice, LONGEST_SLICE.toNanos());
            return look(replica).flatMap(look -> next(look, previous) == Next.GIVE_UP ? Mono.just(false)
                : slice(replica, position, deadline, scheduler, next, look));
        });
    }

    private static Mono<Look> look(Connection replica) {
        return Flux.from(replica.createStatement(MariaDbDialect.REPLICA_STATUS).execute())
            .flatMap(result -> result.map(MariaDbDialect.Replication::of))
            .collectList()
            .flatMap(rows -> Statements.queryLong(replica, MariaDbDialect.ROWS_CHANGED)
                .map(changed -> new Look(rows.isEmpty() ? null : rows.get(0), changed)));
    }

    /** {@code MASTER_GTID_WAIT} for at most {@code nanos}: whether the replica applied the position. */
    private static Mono<Boolean> applied(Connection replica, GtidPosition position, long nanos) {
        return Statements.queryLong(replica, MariaDbDialect.gtidWait(position, nanos)).map(answer -> answer == 0);
    }
}
