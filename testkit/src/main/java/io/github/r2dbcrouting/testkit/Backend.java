package io.github.r2dbcrouting.testkit;

/**
 * Where a {@link PostgresCluster} runs its servers.
 *
 * <p>{@link #AUTO} (the default) first reads the system property
 * {@value PostgresCluster#BACKEND_PROPERTY} and then the environment variable
 * {@value PostgresCluster#BACKEND_ENV} ({@code local}, {@code containers} or {@code auto});
 * when neither forces a backend it picks {@link #LOCAL} when PostgreSQL server binaries are
 * found, else {@link #CONTAINERS} when a container engine answers, else fails naming both ways
 * to get one.
 */
public enum Backend {

    /** Decide from the settings and from what this machine has; see {@link Backend}. */
    AUTO,

    /** Local PostgreSQL server binaries ({@code PG_BIN}, {@code pg_config}, {@code /usr/lib/postgresql/*}/bin). */
    LOCAL,

    /** One container per node through Testcontainers, on a network of its own (Docker or a Docker-API engine). */
    CONTAINERS

}
