package io.github.r2dbcrouting;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Statement;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * A primary connection lent under a {@link ConsistencySession}: when it goes back to the pool
 * after it wrote, the session notes when (no I/O); the WAL position is read later, when a read or
 * a token needs it (see {@link WalPositions}).
 */
final class SessionConnection extends DelegatingConnection {

    private final ConsistencySession session;

    private final String nodeName;

    /** Reads the position of the session's writes when it is needed. */
    private final ConsistencySession.Source positions;

    private final AtomicBoolean closed = new AtomicBoolean();

    private volatile boolean wrote;

    SessionConnection(Connection delegate, ConsistencySession session, String nodeName, ConsistencySession.Source positions) {
        super(delegate);
        this.session = session;
        this.nodeName = nodeName;
        this.positions = positions;
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
            if (this.wrote) {
                // the holder saw its statements complete: their commits are in the WAL now
                this.session.wrote(WalPositions.tick(), this.positions);
            }
            return Mono.from(this.delegate.close()).doFinally(signal -> this.session.released());
        });
    }

    @Override
    public String toString() {
        return "SessionConnection{node=" + this.nodeName + ", " + this.session + "}";
    }
}
