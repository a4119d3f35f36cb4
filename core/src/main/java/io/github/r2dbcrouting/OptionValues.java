package io.github.r2dbcrouting;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads an option's value, given either typed (a {@link Duration}, an {@link Integer}) or as
 * text (from a URL or a properties file). Text forms: durations as ISO-8601 ({@code PT1S}) or a
 * number with a unit ({@code 500ms}, {@code 1s}, {@code 5m}; units ns, us, ms, s, m, h, d; a
 * plain number is milliseconds, as in Spring Boot); enum names in any case, with {@code -} or
 * {@code _} ({@code least-in-use}); weights as {@code replica-1:3,replica-2:1}.
 */
final class OptionValues {

    private OptionValues() {
    }

    static String string(String option, Object value) {
        return value.toString().trim();
    }

    static Integer integer(String option, Object value) {
        if (value instanceof Integer number) {
            return number;
        }
        try {
            return Integer.valueOf(value.toString().trim());
        } catch (NumberFormatException error) {
            throw invalid(option, value, "is not a whole number");
        }
    }

    static Long longValue(String option, Object value) {
        if (value instanceof Long number) {
            return number;
        }
        if (value instanceof Integer number) {
            return number.longValue();
        }
        try {
            return Long.valueOf(value.toString().trim());
        } catch (NumberFormatException error) {
            throw invalid(option, value, "is not a whole number");
        }
    }

    static Duration duration(String option, Object value) {
        if (value instanceof Duration duration) {
            return duration;
        }
        String text = value.toString().trim();
        if (text.startsWith("P") || text.startsWith("p") || text.startsWith("-P") || text.startsWith("-p")) {
            try {
                return Duration.parse(text);
            } catch (DateTimeParseException error) {
                throw invalid(option, value, "is not a duration; use e.g. 500ms, 1s, 5m or PT1S");
            }
        }
        int end = text.length();
        while (end > 0 && Character.isLetter(text.charAt(end - 1))) {
            end--;
        }
        long amount;
        try {
            amount = Long.parseLong(text.substring(0, end).trim());
        } catch (NumberFormatException error) {
            throw invalid(option, value, "is not a duration; use e.g. 500ms, 1s, 5m or PT1S");
        }
        switch (text.substring(end).toLowerCase(Locale.ROOT)) {
            case "ns":
                return Duration.ofNanos(amount);
            case "us":
                return Duration.ofNanos(Math.multiplyExact(amount, 1000L));
            case "":
            case "ms":
                return Duration.ofMillis(amount);
            case "s":
                return Duration.ofSeconds(amount);
            case "m":
                return Duration.ofMinutes(amount);
            case "h":
                return Duration.ofHours(amount);
            case "d":
                return Duration.ofDays(amount);
            default:
                throw invalid(option, value, "has an unknown unit; use ns, us, ms, s, m, h or d (e.g. 500ms) or ISO-8601 (PT1S)");
        }
    }

    /** The shortest text {@link #duration} reads back to the same value: {@code 0}, {@code 500ms}, {@code 1s}, {@code 30m}. */
    static String format(Duration duration) {
        if (duration.isZero()) {
            return "0";
        }
        if (duration.getNano() % 1_000_000 != 0) {
            return duration.toString();
        }
        long millis = duration.toMillis();
        if (millis % 1000 != 0) {
            return millis + "ms";
        }
        long seconds = millis / 1000;
        if (seconds % 3600 == 0) {
            return seconds / 3600 + "h";
        }
        if (seconds % 60 == 0) {
            return seconds / 60 + "m";
        }
        return seconds + "s";
    }

    /** Matches {@code value} against {@code names} ignoring case, {@code -} and {@code _}; returns the matching name. */
    static String oneOf(String option, Object value, Iterable<String> names) {
        String wanted = normalize(value.toString());
        for (String name : names) {
            if (normalize(name).equals(wanted)) {
                return name;
            }
        }
        throw invalid(option, value, "is not one of " + names);
    }

    static Fallback fallback(String option, Object value) {
        if (value instanceof Fallback fallback) {
            return fallback;
        }
        String wanted = normalize(value.toString());
        for (Fallback fallback : Fallback.values()) {
            if (normalize(fallback.name()).equals(wanted)) {
                return fallback;
            }
        }
        throw invalid(option, value, "is not one of [primary, fail]");
    }

    /** {@code replica-1:3,replica-2:1}, or a map from replica name to weight. */
    static Map<String, Integer> weights(String option, Object value) {
        Map<String, Integer> weights = new LinkedHashMap<>();
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                weights.put(String.valueOf(entry.getKey()).trim(), integer(option, String.valueOf(entry.getValue())));
            }
            return weights;
        }
        String text = value.toString().trim();
        if (text.isEmpty()) {
            return weights;
        }
        for (String pair : text.split(",")) {
            int colon = pair.lastIndexOf(':');
            if (colon <= 0 || pair.substring(0, colon).isBlank()) {
                throw invalid(option, value, "is not a list of replica:weight pairs such as replica-1:3,replica-2:1");
            }
            String name = pair.substring(0, colon).trim();
            Integer weight;
            try {
                weight = Integer.valueOf(pair.substring(colon + 1).trim());
            } catch (NumberFormatException error) {
                throw invalid(option, value, "is not a list of replica:weight pairs such as replica-1:3,replica-2:1");
            }
            if (weights.put(name, weight) != null) {
                throw invalid(option, value, "names replica '" + name + "' twice");
            }
        }
        return weights;
    }

    private static String normalize(String text) {
        return text.trim().replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
    }

    private static InvalidOptionException invalid(String option, Object value, String problem) {
        return new InvalidOptionException(option, option + ": '" + value + "' " + problem);
    }
}
