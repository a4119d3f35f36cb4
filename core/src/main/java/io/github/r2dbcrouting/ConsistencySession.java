package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Read-your-writes for one end user or request chain. Put it in the context next to the route:
 *
 * <pre>{@code
 * ConsistencySession session = ConsistencySession.fromToken(request.cookie("rw"));  // or create()
 * saveOrder(order).contextWrite(Routing.session(session));                      // primary; records its WAL position
 * findOrder(id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)); // a replica that has replayed it, else the primary
 * response.cookie("rw", session.toToken());
 * }</pre>
 *
 * <p>When a primary connection used under a session is released after it wrote (a statement
 * other than a plain query ran, or a transaction committed), the router reads the primary's WAL
 * position ({@code pg_current_wal_insert_lsn()}) and keeps the highest seen here. Reads under
 * the session then go only to replicas that have replayed at least that far; they never see data
 * older than the session's own writes. Thread-safe and cheap: one {@code long}.
 */
public final class ConsistencySession {

    private static final String TOKEN_PREFIX = "v1.";

    private final AtomicLong position;

    /** Guarded by {@code this}: primary connections lent under the session and not yet released. */
    private int open;

    /** Guarded by {@code this}: who waits for {@link #settled()}. */
    private @Nullable List<MonoSink<Void>> waiters;

    private ConsistencySession(long position) {
        this.position = new AtomicLong(position);
    }

    /**
     * A session that has written nothing yet: its reads go to any healthy replica.
     *
     * @return a new session
     */
    public static ConsistencySession create() {
        return new ConsistencySession(0);
    }

    /**
     * A session carried across requests, for instance in a cookie or a header.
     *
     * @param token what {@link #toToken()} gave, or {@code null}/empty for a new session
     * @return the session
     * @throws IllegalArgumentException if the token is not one of ours
     */
    public static ConsistencySession fromToken(@Nullable String token) {
        if (token == null || token.isEmpty()) {
            return create();
        }
        if (!token.startsWith(TOKEN_PREFIX) || token.length() > TOKEN_PREFIX.length() + 16) {
            throw new IllegalArgumentException("consistency token must look like 'v1.<hex WAL position>', was '" + shorten(token) + "'");
        }
        try {
            long position = Long.parseUnsignedLong(token.substring(TOKEN_PREFIX.length()), 16);
            if (position < 0) {
                throw new NumberFormatException("negative");
            }
            return new ConsistencySession(position);
        } catch (NumberFormatException error) {
            throw new IllegalArgumentException("consistency token must look like 'v1.<hex WAL position>', was '" + shorten(token) + "'");
        }
    }

    private static String shorten(String token) {
        return token.length() <= 40 ? token : token.substring(0, 40) + "...";
    }

    /**
     * The session as a short opaque string, to carry to the next request.
     *
     * @return the token
     */
    public String toToken() {
        return TOKEN_PREFIX + Long.toHexString(this.position.get()).toUpperCase(Locale.ROOT);
    }

    /**
     * The highest WAL position the session's writes reached, in bytes; {@code 0} before any write.
     *
     * @return the position
     */
    public long position() {
        return this.position.get();
    }

    /**
     * Completes once every primary connection lent under this session so far has been released
     * and its position recorded (at once when none is out). A write pipeline may emit its result
     * before its connection is back in the pool; await this before handing {@link #toToken()} to
     * the next request, for instance in a web filter's {@code beforeCommit}.
     *
     * @return a Mono that completes when the session's position is settled
     */
    public Mono<Void> settled() {
        return Mono.create(sink -> {
            boolean now;
            synchronized (this) {
                now = this.open == 0;
                if (!now) {
                    if (this.waiters == null) {
                        this.waiters = new ArrayList<>();
                    }
                    this.waiters.add(sink);
                }
            }
            if (now) {
                sink.success();
            }
        });
    }

    /** Raises the position to {@code lsn} if that is higher. */
    void advance(long lsn) {
        this.position.accumulateAndGet(lsn, Math::max);
    }

    /** A primary connection was lent under this session. */
    synchronized void opened() {
        this.open++;
    }

    /** A primary connection lent under this session was released, its position recorded. */
    void released() {
        List<MonoSink<Void>> done = null;
        synchronized (this) {
            this.open--;
            if (this.open == 0 && this.waiters != null) {
                done = this.waiters;
                this.waiters = null;
            }
        }
        if (done != null) {
            done.forEach(MonoSink::success);
        }
    }

    @Override
    public String toString() {
        return "ConsistencySession{" + toToken() + "}";
    }
}
