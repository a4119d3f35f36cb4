package io.github.r2dbcrouting;

import java.util.List;

import org.jspecify.annotations.Nullable;
import reactor.pool.InstrumentedPool.PoolMetrics;

/**
 * Keeps new reads off a replica that has stopped giving connections back, long before a probe
 * can decide that it is stalled.
 *
 * <p>A frozen server (SIGSTOP, a VM paused, a stuck disk) fails nothing: it keeps every
 * connection lent to it. Round robin then sends it every other read, and each of those hangs,
 * so within a few reads every reader waits on it until a probe times out and the node is
 * ejected (interval + timeout). Least-in-use avoids it by nature; the others need this.
 *
 * <p>The judgement is made at selection, from what the pools' own hooks record on release (no
 * work on the acquisition path): a candidate is <em>suspect</em> when it has connections out
 * and none came back for {@link #GAPS} times its usual time between two returns (at least
 * {@link #MIN_QUIET_NANOS}), measured up to the latest return of any candidate. Measuring to
 * the other candidates' latest return, not to the clock, means that a node is suspect only
 * while another one answers: when the client itself pauses (a GC, a starved CPU), no node
 * returns anything and none becomes suspect; and the node that returned last is never suspect,
 * so suspicion alone never leaves a read without a replica. A suspect pick is replaced by the
 * least busy candidate that is not suspect; when every other one is, the balancer's pick
 * stands. A pick that is merely quiet (no return for 200 microseconds while another candidate
 * returned one) is also replaced when it holds far more connections than that candidate
 * ({@link #crowded}).
 * Only the reads already on the frozen node wait for the probe (which ejects the node and
 * closes its connections).
 *
 * <p>Cost on the route decision: one volatile read per candidate and a comparison, no lock,
 * no allocation, and no clock read; the pools' counts are read only for a quiet pick.
 */
final class Suspicion {

    /** How many usual gaps between returns a node may stay silent with connections out. */
    static final int GAPS = 4;

    /**
     * The least silence that makes a node suspect, whatever its pace. Short: with a warm JVM, 16
     * readers do 20 reads or more per millisecond, and with a 1 ms floor every one of them had
     * moved onto a frozen replica (round robin sends each its next read there) before the floor
     * passed, after which no node answered and none could be suspect: reads fell to 0 until the
     * ejection (scenario runner, freeze at 10 s). With 200 microseconds they kept their rate.
     */
    static final long MIN_QUIET_NANOS = 200_000L;

    /** A gap longer than this is an idle spell (or an outage), not a pace: it leaves the average as it was. */
    static final long MAX_GAP_NANOS = 1_000_000_000L;

    private Suspicion() {
    }

    /**
     * The candidate to use instead of {@code chosen}: {@code chosen} itself unless it is
     * suspect and another candidate is not.
     *
     * @param readers the replicas in rotation
     * @param chosen  the balancer's pick, an index into {@code readers}
     * @return an index into {@code readers}
     */
    static int select(List<Node> readers, int chosen) {
        int size = readers.size();
        if (size < 2) {
            return chosen;
        }
        long newest = readers.get(0).activity.lastReturn();
        for (int i = 1; i < size; i++) {
            long last = readers.get(i).activity.lastReturn();
            if (last - newest > 0) {
                newest = last;
            }
        }
        Node node = readers.get(chosen);
        long quiet = newest - node.activity.lastReturn();
        if (quiet <= MIN_QUIET_NANOS) {
            // the common case: the pick gave a connection back about as recently as any
            return chosen;
        }
        int out = outstanding(node.lease.metrics);
        if (out == 0) {
            return chosen;
        }
        // the pick is quiet: the least busy candidate that is not stuck itself
        int best = -1;
        int bestOut = Integer.MAX_VALUE;
        for (int k = 1; k < size; k++) {
            int i = chosen + k;
            if (i >= size) {
                i -= size;
            }
            Node other = readers.get(i);
            int otherOut = outstanding(other.lease.metrics);
            if (otherOut < bestOut && !suspect(newest - other.activity.lastReturn(), other.activity.usualGap(), otherOut)) {
                best = i;
                bestOut = otherOut;
            }
        }
        if (best >= 0 && (suspect(quiet, node.activity.usualGap(), out) || crowded(out, bestOut))) {
            return best;
        }
        return chosen;
    }

    /**
     * Whether {@code node} has connections out and gave none back for {@link #GAPS} usual gaps
     * while another of {@code readers} answered: the probe's stall rule asks this when a probe
     * timed out a little less than a timeout after the freeze (the probe before it had failed
     * already), so that the reads hanging on the node are failed with its ejection anyway.
     */
    static boolean quietAmong(Node node, List<Node> readers) {
        long last = node.activity.lastSignOfLife();
        long newest = last;
        for (Node other : readers) {
            long otherLast = other.activity.lastReturn();
            if (other != node && otherLast - newest > 0) {
                newest = otherLast;
            }
        }
        return suspect(newest - last, node.activity.usualGap(), lent(node.lease.metrics));
    }

    /**
     * Whether a quiet candidate holds so many more connections than the least busy other one
     * that new reads should go there: least-in-use's judgement, applied only to a node that has
     * not given a connection back lately (while a server freezes process by process, or the
     * machine is loaded, its pace slows before it stops, and round robin fills it meanwhile).
     */
    static boolean crowded(int outstanding, int leastOtherOutstanding) {
        return outstanding > 2 * leastOtherOutstanding + 2;
    }

    /**
     * Connections lent out, being opened, or waited for: a read waiting for a connection that a
     * frozen (or just thawed, still slow) server does not open waits as surely as one on a lent
     * connection.
     */
    static int outstanding(@Nullable PoolMetrics metrics) {
        return metrics == null ? 0 : metrics.allocatedSize() - metrics.idleSize() + metrics.pendingAcquireSize();
    }

    /**
     * Connections lent out and not yet given back: what the probe's stall rule counts. Unlike
     * {@link #outstanding}, acquisitions waiting for a connection being opened are left out: a
     * pool still opening connections (at start-up, or when reads move to the node, slowly on a
     * loaded machine) has lent nothing that could have come back, and one probe timing out then
     * must not eject a healthy node. reactor-pool counts a connection as acquired only once it is
     * delivered to its borrower.
     */
    static int lent(@Nullable PoolMetrics metrics) {
        return metrics == null ? 0 : metrics.acquiredSize();
    }

    /**
     * The decision alone.
     *
     * @param quietNanos     how long before the latest return of any candidate this node's last return was
     * @param usualGapNanos  the node's usual time between two returns, {@code 0} when unknown
     * @param inUse          the node's connections lent out, being opened or waited for, now
     * @return whether new reads should avoid the node
     */
    static boolean suspect(long quietNanos, long usualGapNanos, int inUse) {
        return inUse > 0 && quietNanos > Math.max(MIN_QUIET_NANOS, GAPS * usualGapNanos);
    }

    /**
     * The usual gap after one more return: a moving average over about eight returns. A gap past
     * {@link #MAX_GAP_NANOS} is left out, so that a replica readmitted after an outage keeps the
     * pace it had: while its fresh pool opens connections slowly, new reads keep going to the
     * other replica instead of all waiting on it.
     *
     * @param usualGapNanos the average so far, {@code 0} when none
     * @param gapNanos      the time since the previous return
     * @return the new average
     */
    static long nextUsualGap(long usualGapNanos, long gapNanos) {
        if (gapNanos > MAX_GAP_NANOS) {
            return usualGapNanos;
        }
        long gap = Math.max(0, gapNanos);
        if (usualGapNanos <= 0) {
            return Math.max(1, gap);
        }
        return Math.max(1, usualGapNanos + (gap - usualGapNanos) / 8);
    }
}
