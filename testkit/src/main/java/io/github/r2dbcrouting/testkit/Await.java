package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Polls a condition until it holds or a deadline passes: the way tests wait for state (an
 * ejection, a readmission, replication), instead of sleeping a fixed time.
 */
public final class Await {

    private static final long POLL_MILLIS = 20;

    private Await() {
    }

    /**
     * @param what      what is awaited, for the failure message
     * @param timeout   how long to wait at most
     * @param condition checked every 20 ms
     * @throws AssertionError when the deadline passes, naming {@code what}
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        until(what, timeout, condition, () -> "");
    }

    /**
     * @param what      what is awaited, for the failure message
     * @param timeout   how long to wait at most
     * @param condition checked every 20 ms
     * @param state     describes the current state, appended to the failure message
     * @throws AssertionError when the deadline passes, naming {@code what} and the state
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition, Supplier<String> state) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + " " + state.get());
            }
            try {
                Thread.sleep(POLL_MILLIS);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }
}
