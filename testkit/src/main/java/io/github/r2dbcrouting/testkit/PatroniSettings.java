package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.Objects;

/**
 * What {@link PatroniCluster.Builder} collected, checked: the cluster's size and {@code scope}, the
 * app credentials, Patroni's timing and whether it runs in {@code synchronous_mode}; {@link #toString()}
 * hides the password.
 */
record PatroniSettings(int members, String scope, String database, String username, String password,
        Duration ttl, Duration loopWait, Duration retryTimeout, boolean synchronous) {

    /**
     * Checks Patroni's timing: whole seconds each, and {@code loop_wait + 2 * retry_timeout <= ttl}
     * as Patroni needs.
     * @throws IllegalArgumentException naming the setting and the value
     */
    static void checkTiming(Duration ttl, Duration loopWait, Duration retryTimeout) {
        long t = wholeSeconds("ttl", ttl);
        long l = wholeSeconds("loopWait", loopWait);
        long r = wholeSeconds("retryTimeout", retryTimeout);
        if (l + 2 * r > t) {
            throw new IllegalArgumentException("Patroni needs loop_wait + 2 * retry_timeout <= ttl, was " + l
                    + " + 2 * " + r + " > " + t);
        }
    }

    private static long wholeSeconds(String setting, Duration value) {
        Objects.requireNonNull(value, setting);
        if (value.isNegative() || value.isZero() || value.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException(setting + " must be a positive whole number of seconds, was "
                    + value);
        }
        return value.toSeconds();
    }

    @Override
    public String toString() {
        return "Settings[members=" + members + ", scope=" + scope + (synchronous ? ", synchronous" : "") + "]";
    }

}
