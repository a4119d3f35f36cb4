package io.github.r2dbcrouting.testkit;

import java.util.Objects;

/**
 * The app database, user and password every cluster of the testkit starts with unless its builder
 * says otherwise, and the checks of what a builder is given instead.
 */
final class Credentials {

    static final String DEFAULT_DATABASE = "app";

    static final String DEFAULT_USERNAME = "app";

    /** Fixed so that test logs and URLs are reproducible; the servers listen on loopback only. */
    static final String DEFAULT_PASSWORD = "r2dbc-routing-testkit-S3cret!";

    private Credentials() {
    }

    /**
     * @param maxLength the server's limit for the name (PostgreSQL 63, MariaDB 32 for a user)
     * @throws IllegalArgumentException naming {@code setting} unless {@code value} is a plain SQL identifier
     */
    static String requireName(String setting, String value, int maxLength) {
        Objects.requireNonNull(value, setting);
        if (!value.matches("[A-Za-z_][A-Za-z0-9_]{0," + (maxLength - 1) + "}")) {
            throw new IllegalArgumentException(setting + " must be a plain SQL identifier (letters, digits, "
                    + "underscores, not starting with a digit" + (maxLength < 63 ? ", at most " + maxLength
                    + " characters" : "") + "), was '" + value + "'");
        }
        return value;
    }

    /** @throws IllegalArgumentException unless {@code password} is non-empty and on one line (never naming it) */
    static String requirePassword(String password) {
        Objects.requireNonNull(password, "password");
        if (password.isEmpty() || password.contains("\n")) {
            throw new IllegalArgumentException("password must be non-empty and on one line");
        }
        return password;
    }

    /**
     * The credential setters every cluster builder has ({@link PostgresCluster.Builder},
     * {@link MariaDbCluster.Builder}, {@link PatroniCluster.Builder}), each checking its argument at once.
     *
     * @param <B> the builder itself, so that the setters chain
     */
    abstract static class Builder<B extends Builder<B>> {

        private final int maxNameLength;

        String database = DEFAULT_DATABASE;

        String username = DEFAULT_USERNAME;

        String password = DEFAULT_PASSWORD;

        /** @param maxNameLength the server's limit for a database or user name */
        Builder(int maxNameLength) {
            this.maxNameLength = maxNameLength;
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** The app database (the app user owns it, or has every privilege on it); default {@code app}. */
        public B database(String database) {
            this.database = requireName("database", database, this.maxNameLength);
            return self();
        }

        /** The app user, who logs in with the password (on PostgreSQL a superuser); default {@code app}. */
        public B username(String username) {
            this.username = requireName("username", username, this.maxNameLength);
            return self();
        }

        /** The app user's password; default a fixed non-trivial secret. */
        public B password(String password) {
            this.password = requirePassword(password);
            return self();
        }

    }

}
