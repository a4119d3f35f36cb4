package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Objects;

/** Argument checks whose messages name the setting and the value. */
final class Checks {

    private Checks() {
    }

    static Duration positive(String setting, Duration value) {
        Objects.requireNonNull(value, () -> setting + " must not be null");
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(setting + " must be positive, was " + value);
        }
        return value;
    }

    static Duration positiveOrZero(String setting, Duration value) {
        Objects.requireNonNull(value, () -> setting + " must not be null");
        if (value.isNegative()) {
            throw new IllegalArgumentException(setting + " must not be negative (use Duration.ZERO to disable), was " + value);
        }
        return value;
    }

    static int atLeast(String setting, int min, int value) {
        if (value < min) {
            throw new IllegalArgumentException(setting + " must be at least " + min + ", was " + value);
        }
        return value;
    }

    static long atLeast(String setting, long min, long value) {
        if (value < min) {
            throw new IllegalArgumentException(setting + " must be at least " + min + ", was " + value);
        }
        return value;
    }

    static String name(String setting, String value) {
        Objects.requireNonNull(value, () -> setting + " must not be null");
        if (value.isBlank()) {
            throw new IllegalArgumentException(setting + " must not be blank, was '" + value + "'");
        }
        return value;
    }
}
