package io.github.r2dbcrouting;

import java.util.Locale;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Mono;

/**
 * The release step of a primary connection lent under a {@link ConsistencySession}: when it goes
 * back to the pool after it wrote, the session notes when (no I/O); the WAL position is read
 * later, when a read or a token needs it (see {@link WalPositions}). One per acquisition.
 */
final class SessionRecording implements Lender.Step {

    private final ConsistencySession session;

    /** Reads the position of the session's writes when it is needed. */
    private final ConsistencySession.Source positions;

    SessionRecording(ConsistencySession session, ConsistencySession.Source positions) {
        this.session = session;
        this.positions = positions;
    }

    /** Whether a statement may write: anything but a plain query. A writable CTE counts as a write. */
    static boolean mayWrite(String sql) {
        String text = sql.stripLeading();
        int end = Math.min(text.length(), 6);
        String head = text.substring(0, end).toLowerCase(Locale.ROOT);
        return !(head.startsWith("select") || head.startsWith("show") || head.startsWith("values") || head.startsWith("table"));
    }

    @Override
    public void lent() {
        this.session.opened();
    }

    @Override
    public boolean recordsWrites() {
        return true;
    }

    @Override
    public Mono<Void> beforeReset(Connection pooled, boolean wrote) {
        if (wrote) {
            // the holder saw its statements complete: their commits are in the WAL now
            this.session.wrote(WalPositions.tick(), this.positions);
        }
        return Mono.empty();
    }

    @Override
    public void released() {
        this.session.released();
    }

    @Override
    public String toString() {
        return "session " + this.session;
    }
}
