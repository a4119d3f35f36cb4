package io.github.r2dbcrouting;

import org.jspecify.annotations.Nullable;

/**
 * Whether a session read keeps waiting on a replica that has not replayed the session's writes
 * yet, decided on each look at the replica from its measured replay rate: waiting pays only while
 * replay moves fast enough to get there before {@code sessionWait} runs out. A replica that has
 * received WAL it does not replay (replay paused, or held by a conflicting query for up to
 * {@code max_standby_streaming_delay}) will not get there soon: the read goes to the primary after
 * two looks instead of after the whole wait. A replica that replayed all it received is waiting
 * for WAL still on its way, which is worth a wait.
 */
final class ReplayWait {

    /** What to do after a look at the replica. */
    enum Next {
        /** The replica has replayed the session's writes: read there. */
        READ_HERE,
        /** Look again shortly. */
        LOOK_AGAIN,
        /** The replica will not catch up in time: read on the primary. */
        GIVE_UP
    }

    /** One look at the replica: its replay and receive positions ({@code -1} when unknown) at {@code at} nanoseconds. */
    record Look(long replay, long receive, long at) {
    }

    private ReplayWait() {
    }

    /**
     * @param needed   the session's position
     * @param look     what the replica reports now
     * @param previous the previous look on this read, {@code null} on the first
     * @param deadline when {@code sessionWait} runs out, in the same nanoseconds as {@link Look#at}
     * @return what to do
     */
    static Next next(long needed, Look look, @Nullable Look previous, long deadline) {
        if (look.replay() >= needed) {
            return Next.READ_HERE;
        }
        if (look.at() >= deadline) {
            return Next.GIVE_UP;
        }
        if (previous == null) {
            return Next.LOOK_AGAIN;
        }
        long replayed = look.replay() - previous.replay();
        if (replayed <= 0) {
            // WAL received and not replayed, and replay not moving: stalled; else the WAL is still on its way
            return look.receive() > look.replay() ? Next.GIVE_UP : Next.LOOK_AGAIN;
        }
        long elapsed = Math.max(1, look.at() - previous.at());
        double eta = (double) (needed - look.replay()) * elapsed / replayed;
        return look.at() + eta > deadline ? Next.GIVE_UP : Next.LOOK_AGAIN;
    }
}
