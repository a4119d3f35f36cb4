package io.github.r2dbcrouting;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Statement;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A primary connection lent under a {@link ConsistencySession}: when it goes back to the pool
 * after it wrote, the primary's WAL position is recorded in the session (one extra round trip,
 * only for connections that wrote).
 */
final class SessionConnection extends DelegatingConnection {

    private static final Logger LOGGER = Loggers.getLogger(SessionConnection.class);

    /** The insert position: at or past the end of every record this session's writes made. */
    static final String POSITION = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";

    private final ConsistencySession session;

    private final String nodeName;

    /** Finds the position another way when this connection cannot tell (it broke). */
    private final Supplier<Mono<Long>> fallbackPosition;

    private final AtomicBoolean closed = new AtomicBoolean();

    private volatile boolean wrote;

    SessionConnection(Connection delegate, ConsistencySession session, String nodeName, Supplier<Mono<Long>> fallbackPosition) {
        super(delegate);
        this.session = session;
        this.nodeName = nodeName;
        this.fallbackPosition = fallbackPosition;
        session.opened();
    }

    /** Whether a statement may write: anything but a plain query. A writable CTE counts as a write. */
    static boolean mayWrite(String sql) {
        String text = sql.stripLeading();
        int end = Math.min(text.length(), 6);
        String head = text.substring(0, end).toLowerCase(Locale.ROOT);
        return !(head.startsWith("select") || head.startsWith("show") || head.startsWith("values") || head.startsWith("table"));
    }

    @Override
    public Statement createStatement(String sql) {
        if (!this.wrote && mayWrite(sql)) {
            this.wrote = true;
        }
        return this.delegate.createStatement(sql);
    }

    @Override
    public Batch createBatch() {
        this.wrote = true;
        return this.delegate.createBatch();
    }

    @Override
    public Publisher<Void> commitTransaction() {
        this.wrote = true;
        return this.delegate.commitTransaction();
    }

    @Override
    public Publisher<Void> close() {
        return Mono.defer(() -> {
            if (!this.closed.compareAndSet(false, true)) {
                return Mono.empty();
            }
            if (!this.wrote) {
                return Mono.from(this.delegate.close()).doFinally(signal -> this.session.released());
            }
            return queryLong(this.delegate, POSITION)
                .onErrorResume(error -> {
                    if (LOGGER.isDebugEnabled()) {
                        LOGGER.debug("Node '{}': could not read the WAL position after a write ({}); asking a probe", this.nodeName, error.toString());
                    }
                    return this.fallbackPosition.get();
                })
                .doOnNext(this.session::advance)
                .onErrorResume(error -> Mono.empty())
                .doFinally(signal -> this.session.released())
                .then(Mono.from(this.delegate.close()));
        });
    }

    @Override
    public String toString() {
        return "SessionConnection{node=" + this.nodeName + ", " + this.session + "}";
    }
}
