package io.github.r2dbcrouting;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.LongSupplier;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import reactor.core.publisher.Mono;
import reactor.pool.PoolMetricsRecorder;

/**
 * What a node's pools do with their connections, seen from the pools' own hooks (no work on the
 * acquisition path): when a connection last came back (a frozen server keeps every connection
 * lent to it), and which physical connections exist, so that a stalled node's can be aborted.
 * Shared by every pool the node has over its life.
 *
 * <p>It is also the pools' {@link Clock}, so that noting a return reads no clock of its own:
 * reactor-pool reads its clock several times per acquisition and release (a read costs more than
 * the rest of the bookkeeping on some machines), the last time just before it calls
 * {@link #recordResetLatency}; this clock keeps a recent reading of the node's {@code nanoTime}
 * (refreshed when {@link #READING_STEP_NANOS} old, so that two threads do not fight over it on
 * every read) and the hook takes that.
 */
final class NodeActivity extends Clock implements PoolMetricsRecorder {

    /** How old the kept reading may get before a clock read replaces it. */
    static final long READING_STEP_NANOS = 50_000L;

    private static final VarHandle LAST_RETURN;

    private static final VarHandle USUAL_GAP;

    private static final VarHandle READING;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LAST_RETURN = lookup.findVarHandle(NodeActivity.class, "lastReturn", long.class);
            USUAL_GAP = lookup.findVarHandle(NodeActivity.class, "usualGap", long.class);
            READING = lookup.findVarHandle(NodeActivity.class, "reading", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LongSupplier nanoTime;

    /** The pools' wall clock at {@link #originNanos}, in milliseconds since the epoch. */
    private final long originMillis;

    private final long originNanos;

    /** A recent reading of {@code nanoTime}, by the pools' last clock read but one that found it fresh enough; opaque. */
    @SuppressWarnings("unused") // through READING
    private long reading;

    private volatile long lastReturn;

    /**
     * When a connection attempt of the node's pools last succeeded, on the {@code nanoTime} clock:
     * a server that opens a connection is not frozen, however slowly it opens them.
     */
    private volatile long lastOpened;

    /** The usual time between two returns, a moving average; read at selection by {@link Suspicion}. */
    private volatile long usualGap;

    /** Connection attempts in progress, failed at once when the node stalls. */
    private final PendingConnects pending = new PendingConnects();

    /** Physical connections the node's pools opened; weak, so destroyed ones simply drop out. */
    private final Map<Connection, Boolean> opened = Collections.synchronizedMap(new WeakHashMap<>());

    NodeActivity(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        this.originNanos = nanoTime.getAsLong();
        this.originMillis = System.currentTimeMillis();
        this.lastReturn = this.originNanos;
        this.lastOpened = this.originNanos;
        this.reading = this.originNanos;
    }

    /**
     * The pools' clock: wall-clock milliseconds, counted on the node's {@code nanoTime} from the
     * moment the node was made (reactor-pool only subtracts its readings); keeps the reading for
     * the release hooks.
     */
    @Override
    public long millis() {
        long now = this.nanoTime.getAsLong();
        if (now - (long) READING.getOpaque(this) >= READING_STEP_NANOS) {
            READING.setOpaque(this, now);
        }
        return this.originMillis + Math.floorDiv(now - this.originNanos, 1_000_000L);
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    /** Only UTC: the pools never ask for another zone. */
    @Override
    public Clock withZone(ZoneId zone) {
        if (ZoneOffset.UTC.equals(zone)) {
            return this;
        }
        throw new UnsupportedOperationException("a node's pool clock is in UTC only, asked for " + zone);
    }

    /**
     * The factory a new pool of the node allocates through: the user's, with each new connection
     * noted. Called once per pool, when it is made, so that the pools it made before count as
     * retired when {@link #abortConnections()} comes.
     */
    ConnectionFactory tracking(ConnectionFactory target) {
        long pool = this.pending.newPool();
        return new ConnectionFactory() {
            @Override
            public Mono<Connection> create() {
                return NodeActivity.this.pending.abortable(pool,
                    Mono.<Connection>from(target.create()).doOnNext(connection -> {
                        NodeActivity.this.opened.put(connection, Boolean.TRUE);
                        NodeActivity.this.lastOpened = NodeActivity.this.nanoTime.getAsLong();
                    }));
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return target.getMetadata();
            }

            @Override
            public String toString() {
                return target.toString();
            }
        };
    }

    /**
     * Closes every physical connection the node's pools opened, those in use included: queries
     * hanging on a frozen server then fail at once with a closed connection (which
     * {@link Routing#retryReads()} retries elsewhere) instead of waiting for their own timeout.
     * Connection attempts still waiting fail too, so that the reads that made a pool open one
     * go elsewhere instead of waiting for {@code maxCreateConnectionTime}, and so does every
     * later attempt of the pools retired before this call (all but the node's current one).
     *
     * @return how many connections were closed
     */
    int abortConnections() {
        this.pending.abort();
        List<Connection> connections;
        synchronized (this.opened) {
            connections = new ArrayList<>(this.opened.keySet());
            this.opened.clear();
        }
        for (Connection connection : connections) {
            Mono.from(connection.close()).onErrorResume(error -> Mono.empty()).subscribe();
        }
        return connections.size();
    }

    /**
     * How long the node gave no sign of life to its pools: no connection came back, and no
     * connection attempt succeeded (a pool still opening connections for reads that just came to
     * the node, slowly on a loaded machine, has nothing out that could have come back).
     */
    Duration quiet() {
        return Duration.ofNanos(Math.max(0, this.nanoTime.getAsLong() - lastSignOfLife()));
    }

    /** The later of the last return and the last connection opened, on the {@code nanoTime} clock. */
    long lastSignOfLife() {
        long returned = this.lastReturn;
        long opened = this.lastOpened;
        return opened - returned > 0 ? opened : returned;
    }

    /** When a connection last came back, on the {@code nanoTime} clock. */
    long lastReturn() {
        return this.lastReturn;
    }

    /** The usual time between two returns in nanoseconds, {@code 0} before the first two. */
    long usualGap() {
        return this.usualGap;
    }

    private void returned() {
        this.lastReturn = this.nanoTime.getAsLong();
    }

    /**
     * Nothing: reactor-pool calls this only right after {@link #recordResetLatency}, for the
     * same release, which noted the return already (a second clock read per release cost more
     * than the rest of the bookkeeping).
     */
    @Override
    public void recordRecycled() {
    }

    /**
     * Called once per release, whether the connection is then recycled ({@link #recordRecycled()})
     * or destroyed, right after the pool read its clock: the one place that measures the pace and
     * notes the return. No clock read of its own (the pool's reading, at most
     * {@link #READING_STEP_NANOS} old), and release stores rather than volatile ones (no fence on
     * the release path): the readers, a route's selection and the probe's stall rule, judge
     * silences of a millisecond and more.
     */
    @Override
    public void recordResetLatency(long latencyMs) {
        long now = (long) READING.getOpaque(this);
        USUAL_GAP.setRelease(this, Suspicion.nextUsualGap(this.usualGap, now - this.lastReturn));
        LAST_RETURN.setRelease(this, now);
    }

    @Override
    public void recordDestroyLatency(long latencyMs) {
        returned();
    }

    @Override
    public void recordAllocationSuccessAndLatency(long latencyMs) {
    }

    @Override
    public void recordAllocationFailureAndLatency(long latencyMs) {
    }

    @Override
    public void recordLifetimeDuration(long millisecondsSinceAllocation) {
    }

    @Override
    public void recordIdleTime(long millisecondsIdle) {
    }

    @Override
    public void recordSlowPath() {
    }

    @Override
    public void recordFastPath() {
    }
}
