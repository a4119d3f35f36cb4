package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import reactor.core.scheduler.Scheduler;

/**
 * The {@code maxAcquireTime} of a node's acquisitions that were left waiting, checked by one
 * coarse sweep instead of one timer per acquisition. A PostgreSQL connection is handed over on
 * its own event loop, so even an acquisition that an idle connection serves finishes after
 * {@code subscribe} returns: a timer each (a task scheduled and cancelled on the scheduler,
 * often waking one of its threads) would cost more than the acquisition. Here such an
 * acquisition is only queued; the sweep runs every {@code tick} while anything is queued,
 * drops what finished and times out what passed its deadline. A deadline fires between one tick
 * before {@code maxAcquireTime} and {@code maxAcquireTime} (plus the scheduler's own delay), so
 * that no acquisition waits past it.
 */
final class Deadlines implements Runnable {

    private final Scheduler scheduler;

    private final long timeoutNanos;

    private final long tickNanos;

    private final ConcurrentLinkedQueue<PendingConnection> waiting = new ConcurrentLinkedQueue<>();

    private final AtomicBoolean sweeping = new AtomicBoolean();

    /**
     * @param scheduler      runs the sweep and tells the time
     * @param maxAcquireTime the deadline, positive
     */
    Deadlines(Scheduler scheduler, Duration maxAcquireTime) {
        this.scheduler = scheduler;
        this.timeoutNanos = maxAcquireTime.toNanos();
        this.tickNanos = tick(maxAcquireTime).toNanos();
    }

    /** A tenth of the deadline, between 1 ms and 100 ms. */
    static Duration tick(Duration maxAcquireTime) {
        Duration tenth = maxAcquireTime.dividedBy(10);
        Duration min = Duration.ofMillis(1);
        Duration max = Duration.ofMillis(100);
        return tenth.compareTo(min) < 0 ? min : tenth.compareTo(max) > 0 ? max : tenth;
    }

    /** @return the deadline of an acquisition that starts waiting now, in the scheduler's nanoseconds */
    long deadline() {
        return this.scheduler.now(TimeUnit.NANOSECONDS) + this.timeoutNanos - this.tickNanos;
    }

    void watch(PendingConnection pending) {
        this.waiting.offer(pending);
        if (!this.sweeping.get() && this.sweeping.compareAndSet(false, true)) {
            schedule();
        }
    }

    private void schedule() {
        try {
            this.scheduler.schedule(this, this.tickNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closed) {
            // the scheduler is gone (the factory is closing): nothing can time out any more
            this.sweeping.set(false);
        }
    }

    /** The sweep. */
    @Override
    public void run() {
        long now = this.scheduler.now(TimeUnit.NANOSECONDS);
        for (Iterator<PendingConnection> it = this.waiting.iterator(); it.hasNext(); ) {
            PendingConnection pending = it.next();
            if (!pending.waiting()) {
                it.remove();
            } else if (now - pending.deadline >= 0) {
                it.remove();
                pending.expire();
            }
        }
        if (this.waiting.isEmpty()) {
            this.sweeping.set(false);
            // an acquisition queued since the check above restarts the sweep unless its watch() did
            if (this.waiting.isEmpty() || !this.sweeping.compareAndSet(false, true)) {
                return;
            }
        }
        schedule();
    }
}
