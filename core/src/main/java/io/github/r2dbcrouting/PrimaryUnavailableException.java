package io.github.r2dbcrouting;

import io.r2dbc.spi.R2dbcNonTransientResourceException;

/**
 * Signals that a write (or a pipeline routed to the primary) found no primary to serve it:
 * the primary is down, in recovery, or two nodes claim to be primary.
 */
public final class PrimaryUnavailableException extends R2dbcNonTransientResourceException {

    private static final long serialVersionUID = 1L;

    PrimaryUnavailableException(String reason) {
        super(reason);
    }

    PrimaryUnavailableException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
