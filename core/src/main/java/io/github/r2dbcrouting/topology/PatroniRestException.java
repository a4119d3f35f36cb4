package io.github.r2dbcrouting.topology;

/**
 * Patroni's REST API could not be read: no configured URL answered, or one answered with
 * something that is not Patroni's. The message names each URL (never with its credentials)
 * and what went wrong there.
 */
final class PatroniRestException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    PatroniRestException(String message) {
        super(message);
    }

    PatroniRestException(String message, Throwable cause) {
        super(message, cause);
    }

}
