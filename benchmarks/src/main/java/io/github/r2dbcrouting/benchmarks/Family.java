package io.github.r2dbcrouting.benchmarks;

import java.util.List;
import java.util.Locale;

import io.github.r2dbcrouting.testkit.MariaDbCluster;

/** The database families the runner measures: {@code --family=postgresql|mariadb|both}. */
enum Family {

    POSTGRESQL("PostgreSQL"),

    MARIADB("MariaDB");

    final String label;

    Family(String label) {
        this.label = label;
    }

    /** The name on the command line and in file names: {@code postgresql}, {@code mariadb}. */
    String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A primary with {@code replicas} replicas of this family from the local binaries. */
    BenchCluster start(int replicas) {
        return this == POSTGRESQL ? PostgresBench.start(replicas) : MariaDbBench.start(replicas);
    }

    /** Why no cluster of this family can start on this machine, or null when one can. */
    String unavailableReason() {
        return this == MARIADB ? MariaDbCluster.unavailableReason() : null;
    }

    /** {@code postgresql}, {@code mariadb} or {@code both} (PostgreSQL first). */
    static List<Family> parse(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "postgresql", "postgres", "pg" -> List.of(POSTGRESQL);
            case "mariadb" -> List.of(MARIADB);
            case "both" -> List.of(POSTGRESQL, MARIADB);
            default -> throw new IllegalArgumentException("--family must be postgresql, mariadb or both, was '" + value + "'");
        };
    }
}
