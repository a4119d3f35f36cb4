package io.github.r2dbcrouting.testkit;

import java.util.Locale;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

/**
 * Decides where a cluster runs. The rules, in order:
 * <ol>
 * <li>a backend set on the builder ({@link PostgresCluster.Builder#backend(Backend)}) other than
 * {@link Backend#AUTO} wins;</li>
 * <li>else the system property {@value PostgresCluster#BACKEND_PROPERTY}, else the environment
 * variable {@value PostgresCluster#BACKEND_ENV}: {@code local}, {@code containers} or {@code auto};</li>
 * <li>else (auto) local binaries when they are found; a {@code PG_BIN} that points nowhere is an
 * error, never silently replaced by containers;</li>
 * <li>else containers when an engine answers;</li>
 * <li>else an error that names both ways out.</li>
 * </ol>
 * The probes are suppliers so that nothing asks a container engine while local binaries exist
 * (and so that the rules can be tested without either).
 */
final class BackendSelection {

    static final String NEITHER_HINT = "install PostgreSQL server binaries (e.g. `apt-get install postgresql`) or set "
            + "PG_BIN to the directory that holds initdb, or provide a Docker-compatible container engine for "
            + "Testcontainers (Docker, or podman's Docker API socket named by DOCKER_HOST)";

    private BackendSelection() {
    }

    /**
     * @param localProblem null when local binaries are found, else why not; throws when an
     * explicit {@code PG_BIN} is wrong
     * @param engineProblem null when a container engine answers, else why not
     * @return {@link Backend#LOCAL} or {@link Backend#CONTAINERS}
     */
    static Backend select(Backend requested, @Nullable String property, @Nullable String env,
            Supplier<@Nullable String> localProblem, Supplier<@Nullable String> engineProblem) {
        Backend backend = requested;
        String source = "the builder";
        if (backend == Backend.AUTO) {
            if (property != null && !property.isBlank()) {
                backend = parse(property, "-D" + PostgresCluster.BACKEND_PROPERTY);
                source = "-D" + PostgresCluster.BACKEND_PROPERTY;
            }
            else if (env != null && !env.isBlank()) {
                backend = parse(env, PostgresCluster.BACKEND_ENV);
                source = PostgresCluster.BACKEND_ENV;
            }
        }
        if (backend == Backend.LOCAL) {
            return Backend.LOCAL; // a missing installation fails later with the binary finder's own message
        }
        if (backend == Backend.CONTAINERS) {
            String problem = engineProblem.get();
            if (problem != null) {
                throw new IllegalStateException("the containers backend was chosen by " + source
                        + ", but no container engine answered: " + problem + "; provide a Docker-compatible engine "
                        + "(Docker, or podman's Docker API socket named by DOCKER_HOST) or choose the local backend");
            }
            return Backend.CONTAINERS;
        }
        String local = localProblem.get();
        if (local == null) {
            return Backend.LOCAL;
        }
        String engine = engineProblem.get();
        if (engine == null) {
            return Backend.CONTAINERS;
        }
        throw new IllegalStateException("No PostgreSQL to start a test cluster with. Local binaries: " + local
                + ". Container engine: " + engine + ". To fix, " + NEITHER_HINT + ".");
    }

    private static Backend parse(String value, String setting) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "local":
                return Backend.LOCAL;
            case "containers":
                return Backend.CONTAINERS;
            case "auto":
                return Backend.AUTO;
            default:
                throw new IllegalArgumentException(setting + " must be one of local, containers, auto; was '" + value
                        + "'");
        }
    }

    /** Null when local binaries are found; rethrows when an explicit {@code PG_BIN} is wrong. */
    static @Nullable String localProblem() {
        try {
            PgBinaries.directory();
            return null;
        }
        catch (IllegalStateException ex) {
            if (PgBinaries.isExplicitlySet()) {
                throw ex;
            }
            return ex.getMessage();
        }
    }

    /** Null when a container engine answers. Loads Testcontainers only when called. */
    static @Nullable String engineProblem() {
        return ContainerEngine.problem();
    }

}
