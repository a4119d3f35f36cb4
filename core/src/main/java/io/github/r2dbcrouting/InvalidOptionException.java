package io.github.r2dbcrouting;

/**
 * A value given for one of the {@link RoutingOptions} was refused. {@link #option()} names the
 * option ({@code health.interval}), so that a URL or a properties file can point at the key
 * the user wrote; the message names the option and the value, never a password.
 */
public final class InvalidOptionException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String option;

    InvalidOptionException(String option, String message) {
        super(message);
        this.option = option;
    }

    InvalidOptionException(String option, String message, Throwable cause) {
        super(message, cause);
        this.option = option;
    }

    /**
     * The option the value was given for.
     *
     * @return the option's name, as in {@link RoutingOptions} ({@code pool.maxSize})
     */
    public String option() {
        return this.option;
    }
}
