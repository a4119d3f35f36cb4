package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Optional;
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
 * stopped by an error) or stands still with transactions it received and does not apply (held by
 * a lock). So the wait goes in {@link #LOOK} slices while the replica is seen applying: after a
 * slice that timed out, one look at {@code SHOW REPLICA STATUS} decides:
 * <ul>
 * <li>SQL thread not running, or no replication any more: give up, the read goes to the primary;</li>
 * <li>it applied all it received: what it lacks is still on its way, wait the rest of {@code sessionWait};</li>
 * <li>else, on the first look, one more slice and look; on the second, wait the rest if its applied
 * position moved, give up if it stood still.</li>
 * </ul>
 * A replica that has applied the position answers the first slice at once: one round trip, as
 * before. A stalled one is given up on after two slices and two looks, about 20 ms, where
 * {@code MASTER_GTID_WAIT} alone held the read for the whole {@code sessionWait}.
 */
final class GtidWait {

    /** One slice of the wait, and the pause between two looks: PostgreSQL's look interval. */
    static final Duration LOOK = Duration.ofMillis(10);

    private static final long LOOK_NANOS = LOOK.toNanos();

    /** What to do after a look at the replica's status. */
    enum Next {
        /** Wait for the position for the rest of {@code sessionWait}. */
        WAIT,
        /** Wait one more slice and look again. */
        LOOK_AGAIN,
        /** The replica will not apply the position soon: read on the primary. */
        GIVE_UP
    }

    private GtidWait() {
    }

    /**
     * @param look     the replica's status row now, {@code null} when it has none (not a replica)
     * @param previous the previous look on this read, {@code null} on the first
     */
    static Next next(MariaDbDialect.@Nullable Replication look, MariaDbDialect.@Nullable Replication previous) {
        if (look == null || !look.sqlRunning()) {
            return Next.GIVE_UP;
        }
        if (look.appliedAllReceived()) {
            return Next.WAIT;
        }
        if (previous == null) {
            return Next.LOOK_AGAIN;
        }
        return look.executed().equals(previous.executed()) ? Next.GIVE_UP : Next.WAIT;
    }

    /** Whether {@code replica} applies {@code position} before {@code deadline} (in {@code scheduler}'s nanoseconds). */
    static Mono<Boolean> await(Connection replica, GtidPosition position, long deadline, Scheduler scheduler) {
        long left = deadline - scheduler.now(TimeUnit.NANOSECONDS);
        if (left <= LOOK_NANOS) {
            return applied(replica, position, left);
        }
        return applied(replica, position, LOOK_NANOS)
            .flatMap(done -> done ? Mono.just(true) : paced(replica, position, deadline, scheduler, null));
    }

    private static Mono<Boolean> paced(Connection replica, GtidPosition position, long deadline, Scheduler scheduler,
                                       MariaDbDialect.@Nullable Replication previous) {
        return look(replica).flatMap(status -> {
            MariaDbDialect.Replication look = status.orElse(null);
            long left = deadline - scheduler.now(TimeUnit.NANOSECONDS);
            return switch (left <= 0 ? Next.GIVE_UP : next(look, previous)) {
                case GIVE_UP -> Mono.just(false);
                case WAIT -> applied(replica, position, left);
                case LOOK_AGAIN -> applied(replica, position, Math.min(LOOK_NANOS, left))
                    .flatMap(done -> done ? Mono.just(true) : paced(replica, position, deadline, scheduler, look));
            };
        });
    }

    private static Mono<Optional<MariaDbDialect.Replication>> look(Connection replica) {
        return Flux.from(replica.createStatement(MariaDbDialect.REPLICA_STATUS).execute())
            .flatMap(result -> result.map(MariaDbDialect.Replication::of))
            .collectList()
            .map(rows -> rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0)));
    }

    /** {@code MASTER_GTID_WAIT} for at most {@code nanos}: whether the replica applied the position. */
    private static Mono<Boolean> applied(Connection replica, GtidPosition position, long nanos) {
        return Statements.queryLong(replica, MariaDbDialect.gtidWait(position, nanos)).map(answer -> answer == 0);
    }
}
