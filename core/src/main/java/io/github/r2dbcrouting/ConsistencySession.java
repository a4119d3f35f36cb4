package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Read-your-writes for one end user or request chain. Put it in the context next to the route:
 *
 * <pre>{@code
 * ConsistencySession session = ConsistencySession.fromToken(request.cookie("rw"));  // or create()
 * saveOrder(order).contextWrite(Routing.session(session));                      // primary; notes that the session wrote
 * findOrder(id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)); // a replica that has replayed it, else the primary
 * session.settled().then(Mono.fromSupplier(session::toToken));                   // for the next request
 * }</pre>
 *
 * <p>When a primary connection used under a session is released after it wrote (a statement
 * other than a plain query ran, or a transaction committed), the session only notes that it
 * wrote: releasing costs no round trip. The position the writes reached is read when it is
 * needed, by the session's next read-only read or by {@link #settled()}: the primary's last probe
 * if it was sent after the write was released, else one query shared with every session that
 * needs a position at that moment ({@code pg_current_wal_insert_lsn()} on PostgreSQL,
 * {@code @@gtid_binlog_pos} on MariaDB). Reads under the session then go only to replicas that
 * have applied at least that far (on MariaDB: in every GTID domain of the position); they never
 * see data older than the session's own writes. Thread-safe and cheap.
 *
 * <p>A token carries its database family: {@code v1.<hex WAL position>} is PostgreSQL's,
 * {@code mdb1.<domain>-<server>-<sequence>[.<domain>-<server>-<sequence>...]} MariaDB's. A session
 * made from one family's token and used on a factory of the other fails with an
 * {@link IllegalArgumentException} naming both, instead of comparing positions that cannot be
 * compared.
 */
public final class ConsistencySession {

    /** What a token looks like, for messages. */
    private static final String FORMS = "'v1.<hex WAL position>' (PostgreSQL) or 'mdb1.<domain>-<server>-<sequence>[.<...>]' (MariaDB)";

    /** Bounds what a token can make us parse: 64 domains of the longest GTIDs fit. */
    private static final int MAX_TOKEN = 64 * 42 + GtidPosition.TOKEN_PREFIX.length();

    /** No write waits for its position. */
    private static final long NONE = -1;

    /** The position the session's settled writes reached; {@code null} before any. */
    private final AtomicReference<@Nullable Position> position;

    /**
     * The {@link WalPositions#tick()} of the latest release of a connection that wrote whose
     * position is not in {@link #position} yet, {@link #NONE} when there is none.
     */
    private final AtomicLong unsettled = new AtomicLong(NONE);

    /** Where that position can be read: the factory the write went through. */
    private volatile @Nullable Source source;

    /** Guarded by {@code this}: primary connections lent under the session and not yet released. */
    private int open;

    /** Guarded by {@code this}: who waits for {@link #settled()}. */
    private @Nullable List<MonoSink<Void>> waiters;

    private ConsistencySession(@Nullable Position position) {
        this.position = new AtomicReference<>(position);
    }

    /**
     * A session that has written nothing yet: its reads go to any healthy replica.
     *
     * @return a new session
     */
    public static ConsistencySession create() {
        return new ConsistencySession(null);
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
        if (token.startsWith(GtidPosition.TOKEN_PREFIX) && token.length() <= MAX_TOKEN) {
            try {
                return new ConsistencySession(GtidPosition.fromToken(token));
            } catch (IllegalArgumentException error) {
                throw new IllegalArgumentException("consistency token must look like " + FORMS + ", was '" + shorten(token) + "'", error);
            }
        }
        if (!token.startsWith(WalPosition.TOKEN_PREFIX) || token.length() > WalPosition.TOKEN_PREFIX.length() + 16) {
            throw new IllegalArgumentException("consistency token must look like " + FORMS + ", was '" + shorten(token) + "'");
        }
        try {
            long position = Long.parseUnsignedLong(token.substring(WalPosition.TOKEN_PREFIX.length()), 16);
            if (position < 0) {
                throw new NumberFormatException("negative");
            }
            return new ConsistencySession(WalPosition.of(position));
        } catch (NumberFormatException error) {
            throw new IllegalArgumentException("consistency token must look like " + FORMS + ", was '" + shorten(token) + "'");
        }
    }

    private static String shorten(String token) {
        return token.length() <= 40 ? token : token.substring(0, 40) + "...";
    }

    /**
     * The session as a short opaque string, to carry to the next request. It holds the position
     * of the writes {@link #settled()} has settled: await that first. Before any write it is
     * {@code v1.0}, which any factory accepts.
     *
     * @return the token
     */
    public String toToken() {
        Position at = this.position.get();
        return at == null ? WalPosition.TOKEN_PREFIX + "0" : at.token();
    }

    /**
     * The highest PostgreSQL WAL position the session's writes are known to have reached, in
     * bytes; {@code 0} before any write, {@code -1} for a MariaDB session (its position is a GTID
     * list, carried in {@link #toToken()}). Writes released since the last read-only read or
     * {@link #settled()} are not in it yet.
     *
     * @return the position
     */
    public long position() {
        Position at = this.position.get();
        return at == null ? 0 : at instanceof WalPosition wal ? wal.bytes() : -1;
    }

    /** The position of the settled writes, {@code null} before any. */
    @Nullable Position current() {
        return this.position.get();
    }

    /**
     * The error for using this session on nodes of {@code dialect}'s family when its position is
     * of another (a token of one family given to a factory of the other); {@code null} when it may.
     */
    @Nullable IllegalArgumentException foreignTo(Dialect dialect, String factory) {
        Position at = this.position.get();
        if (at == null || dialect.accepts(at)) {
            return null;
        }
        return new IllegalArgumentException("consistency token '" + shorten(at.token()) + "' holds a " + at.family()
            + " position, but RoutingConnectionFactory '" + factory + "' routes " + dialect.family()
            + " nodes: a token (ConsistencySession.fromToken) is valid only for the database family that issued it");
    }

    /**
     * Completes once every primary connection lent under this session so far has been released
     * and the position its writes reached is in {@link #position()} (at once when nothing is out
     * and nothing unsettled; else at most one round trip to the primary, shared with other
     * sessions). A write pipeline may emit its result before its connection is back in the pool;
     * await this before handing {@link #toToken()} to the next request, for instance in a web
     * filter's {@code beforeCommit}. Errors when the position cannot be read (the primary is
     * unavailable); the token then does not cover the last writes.
     *
     * @return a Mono that completes when the session's position is settled
     */
    public Mono<Void> settled() {
        return allReleased().then(Mono.defer(this::settle)).then();
    }

    private Mono<Void> allReleased() {
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

    /** Raises the position to {@code lsn} (PostgreSQL) if that is higher. */
    void advance(long lsn) {
        WalPosition at = WalPosition.of(lsn);
        if (at != null) {
            advance(at);
        }
    }

    /**
     * Raises the position to cover {@code at} too.
     *
     * @throws IllegalArgumentException when {@code at} is of another family than the session's position
     */
    void advance(Position at) {
        this.position.accumulateAndGet(at, (old, fresh) -> old == null ? fresh : old.merge(fresh));
    }

    /** Whether a read under the session needs nothing: it never wrote. */
    boolean blank() {
        return this.position.get() == null && this.unsettled.get() == NONE;
    }

    /** Whether writes were released whose position is not known yet. */
    boolean unsettled() {
        return this.unsettled.get() != NONE;
    }

    /**
     * A connection that wrote under this session was released at {@code tick}; {@code source}
     * can read the position its writes reached. No I/O.
     */
    void wrote(long tick, Source source) {
        this.source = source;
        this.unsettled.accumulateAndGet(tick, Math::max);
    }

    /**
     * The position covering every write released so far: {@link #current()} when nothing is
     * unsettled (empty when that is none), else read through the source and recorded.
     */
    Mono<Position> settle() {
        long since = this.unsettled.get();
        Source from = this.source;
        if (since == NONE || from == null) {
            return Mono.justOrEmpty(this.position.get());
        }
        return from.positionAfter(since).mapNotNull(at -> {
            advance(at);
            // a write released since is still unsettled: its tick is higher
            this.unsettled.compareAndSet(since, NONE);
            return this.position.get();
        });
    }

    /** A primary connection was lent under this session. */
    synchronized void opened() {
        this.open++;
    }

    /** A primary connection lent under this session was released. */
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

    /** Reads the primary's position for writes released before a tick. */
    @FunctionalInterface
    interface Source {

        /**
         * @param tick a {@link WalPositions#tick()} taken when a write was released
         * @return a position at or past every write released before {@code tick}
         */
        Mono<Position> positionAfter(long tick);
    }

    @Override
    public String toString() {
        return "ConsistencySession{" + toToken() + "}";
    }
}
