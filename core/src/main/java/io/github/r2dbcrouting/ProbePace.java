package io.github.r2dbcrouting;

import java.time.Duration;

/**
 * When a node's next probe starts, so that a frozen node is out within interval + timeout.
 *
 * <p>A probe loop waits between probes from the end of one to the start of the next. When a
 * server freezes just after a probe started, that probe times out without calling the node
 * stalled (its lent connections came back until the freeze, less than a timeout earlier), and
 * the next probe used to come a whole interval later: the reads hanging on the frozen server
 * then waited timeout + interval + timeout (3 s with the defaults) before the second timed-out
 * probe ejected the node and closed their connections. A probe that timed out on a node still in
 * rotation is therefore confirmed at once: the next one starts without waiting, and by its own
 * timeout nothing has come back for longer than a timeout, so the stall rule fires; the worst
 * case is two timeouts, which the settings keep within interval + timeout. The jitter only
 * shortens the interval, so that it never adds to that bound either (it used to add up to a
 * tenth, and the loop used to pay its random start-up delay, up to another tenth, on every
 * round).
 */
final class ProbePace {

    /** The largest share of the interval the jitter takes off. */
    static final double JITTER = 0.1;

    private ProbePace() {
    }

    /**
     * @param interval the configured interval, positive
     * @param random   a uniform draw in {@code [0, 1)}
     * @return the pause after a probe: between 90% and 100% of {@code interval}
     */
    static Duration delay(Duration interval, double random) {
        long nanos = interval.toNanos();
        return Duration.ofNanos(nanos - (long) (nanos * JITTER * random));
    }

    /**
     * @param timedOut whether the probe that just failed timed out (as a frozen server makes it)
     * @param stillUp  whether the node is still in rotation after that failure
     * @return whether the next probe starts at once instead of after the interval
     */
    static boolean confirmAtOnce(boolean timedOut, boolean stillUp) {
        return timedOut && stillUp;
    }
}
