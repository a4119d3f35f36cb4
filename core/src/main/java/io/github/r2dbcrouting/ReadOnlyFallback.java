package io.github.r2dbcrouting;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Mono;

/**
 * A primary connection lent to a read-only pipeline under {@link Fallback#PRIMARY}: the session
 * is read-only while the pipeline holds it, so a write fails with the database's read-only
 * error instead of landing, and it is made read-write again before it goes back to the pool
 * (a connection that cannot be is discarded). The statements are the node's {@link Dialect}'s.
 */
final class ReadOnlyFallback implements Lender.Step {

    private final Dialect dialect;

    /** The fallback's release step on a node of {@code dialect}'s family. */
    ReadOnlyFallback(Dialect dialect) {
        this.dialect = dialect;
    }

    /**
     * {@code acquisition} (of a pooled connection, not lent yet) with the session made read-only,
     * lent through {@code lender}. A connection whose session could not be made read-only, or whose
     * caller left meanwhile (a client timeout racing the acquisition), goes back to its pool; in
     * the second case through the lent connection's release, which makes the session read-write
     * again after the statement it may still be running (or discards it).
     */
    static Mono<Connection> acquire(Mono<Connection> acquisition, Lender lender) {
        return Handover.then(acquisition, pooled -> lender.lend(pooled).close(), handover -> enter(handover, lender));
    }

    /** Puts a freshly acquired pooled connection in read-only mode and lends it; releases it if that fails. */
    static Mono<Connection> enter(Handover handover, Lender lender) {
        Connection pooled = handover.connection();
        return lender.dialect.enterReadOnly(pooled)
            .then(Mono.defer(() -> handover.take() ? Mono.just(lender.lend(pooled)) : Mono.<Connection>empty()))
            .onErrorResume(error -> handover.take()
                ? Mono.from(pooled.close()).onErrorResume(ignored -> Mono.empty()).then(Mono.error(error))
                : Mono.error(error));
    }

    @Override
    public Mono<Void> afterReset(Connection pooled) {
        return this.dialect.leaveReadOnly(pooled);
    }

    @Override
    public String toString() {
        return "read-only fallback";
    }
}
