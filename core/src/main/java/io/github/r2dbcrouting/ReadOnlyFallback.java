package io.github.r2dbcrouting;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Mono;

/**
 * A primary connection lent to a read-only pipeline under {@link Fallback#PRIMARY}: the session
 * is read-only while the pipeline holds it, so a write fails with the database's read-only
 * error instead of landing, and it is made read-write again before it goes back to the pool
 * (a connection that cannot be is discarded). The SQL is the standard's
 * {@code SET SESSION CHARACTERISTICS}, which PostgreSQL, MySQL and MariaDB understand.
 */
final class ReadOnlyFallback implements Lender.Step {

    static final String ENTER = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";

    static final String LEAVE = "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE";

    static final ReadOnlyFallback INSTANCE = new ReadOnlyFallback();

    private ReadOnlyFallback() {
    }

    /** Puts a freshly acquired pooled connection in read-only mode and lends it; releases it if that fails. */
    static Mono<Connection> enter(Connection pooled, Lender lender) {
        return LentConnection.run(pooled, ENTER)
            .then(Mono.fromSupplier(() -> lender.lend(pooled)))
            .onErrorResume(error -> Mono.from(pooled.close()).onErrorResume(ignored -> Mono.empty()).then(Mono.error(error)));
    }

    @Override
    public Mono<Void> afterReset(Connection pooled) {
        return LentConnection.run(pooled, LEAVE);
    }

    @Override
    public String toString() {
        return "read-only fallback";
    }
}
