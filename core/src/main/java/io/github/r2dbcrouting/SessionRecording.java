package io.github.r2dbcrouting;

import java.util.Locale;
import java.util.function.Supplier;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The release step of a primary connection lent under a {@link ConsistencySession}: when it goes
 * back to the pool after it wrote, the primary's WAL position is recorded in the session (one
 * extra round trip, only for connections that wrote). One per acquisition.
 */
final class SessionRecording implements Lender.Step {

    private static final Logger LOGGER = Loggers.getLogger(SessionRecording.class);

    /** The insert position: at or past the end of every record this session's writes made. */
    static final String POSITION = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";

    private final ConsistencySession session;

    private final String nodeName;

    /** Finds the position another way when the connection cannot tell (it broke). */
    private final Supplier<Mono<Long>> fallbackPosition;

    SessionRecording(ConsistencySession session, String nodeName, Supplier<Mono<Long>> fallbackPosition) {
        this.session = session;
        this.nodeName = nodeName;
        this.fallbackPosition = fallbackPosition;
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
        if (!wrote) {
            return Mono.empty();
        }
        return LentConnection.queryLong(pooled, POSITION)
            .onErrorResume(error -> {
                if (LOGGER.isDebugEnabled()) {
                    LOGGER.debug("Node '{}': could not read the WAL position after a write ({}); asking a probe", this.nodeName, error.toString());
                }
                return this.fallbackPosition.get();
            })
            .doOnNext(this.session::advance)
            .onErrorResume(error -> Mono.empty())
            .then();
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
