package io.github.r2dbcrouting;

import io.r2dbc.spi.R2dbcNonTransientResourceException;

/**
 * Signals that a read-only pipeline found no replica to serve it under {@link Fallback#FAIL}.
 * The message names every configured replica and why it is out of rotation.
 */
public final class NoHealthyReplicaException extends R2dbcNonTransientResourceException {

    private static final long serialVersionUID = 1L;

    NoHealthyReplicaException(String reason) {
        super(reason);
    }
}
