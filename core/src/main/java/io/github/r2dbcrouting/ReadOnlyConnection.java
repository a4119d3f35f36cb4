package io.github.r2dbcrouting;

import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Wrapped;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A primary connection lent to a read-only pipeline under {@link Fallback#PRIMARY}: the session
 * is read-only while the pipeline holds it, so a write fails with the database's read-only
 * error instead of landing, and it is made read-write again before it goes back to the pool.
 * The SQL is the standard's {@code SET SESSION CHARACTERISTICS}, which PostgreSQL, MySQL and
 * MariaDB understand.
 */
final class ReadOnlyConnection extends DelegatingConnection {

    private static final Logger LOGGER = Loggers.getLogger(ReadOnlyConnection.class);

    static final String ENTER = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";

    static final String LEAVE = "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE";

    private final String nodeName;

    private final AtomicBoolean closed = new AtomicBoolean();

    private ReadOnlyConnection(Connection delegate, String nodeName) {
        super(delegate);
        this.nodeName = nodeName;
    }

    /** Puts a freshly acquired pooled connection in read-only mode; releases it if that fails. */
    static Mono<Connection> enter(Connection pooled, String nodeName) {
        return run(pooled, ENTER)
            .thenReturn((Connection) new ReadOnlyConnection(pooled, nodeName))
            .onErrorResume(error -> Mono.from(pooled.close()).onErrorResume(ignored -> Mono.empty()).then(Mono.error(error)));
    }

    @Override
    public Publisher<Void> close() {
        return Mono.defer(() -> {
            if (!this.closed.compareAndSet(false, true)) {
                return Mono.empty();
            }
            Mono<Void> endTransaction = this.delegate.isAutoCommit() ? Mono.empty() : Mono.from(this.delegate.rollbackTransaction());
            return endTransaction.then(run(this.delegate, LEAVE))
                .onErrorResume(error -> discardPhysical(error))
                .then(Mono.from(this.delegate.close()));
        });
    }

    /**
     * The session could not be made read-write again: close the physical connection so that
     * the pool's validation drops it instead of lending a read-only session to a writer.
     */
    private Mono<Void> discardPhysical(Throwable error) {
        LOGGER.warn("Node '{}': could not restore read-write mode on a fallback connection, discarding it: {}", this.nodeName, error.toString());
        if (this.delegate instanceof Wrapped<?>) {
            Object physical = ((Wrapped<?>) this.delegate).unwrap();
            if (physical instanceof Connection) {
                return Mono.from(((Connection) physical).close()).onErrorResume(ignored -> Mono.empty());
            }
        }
        return Mono.empty();
    }

    @Override
    public String toString() {
        return "ReadOnlyConnection{node=" + this.nodeName + "}";
    }
}
