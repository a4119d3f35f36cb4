package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import java.util.function.Consumer;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.ValidationDepth;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.pool.InstrumentedPool;
import reactor.pool.PoolBuilder;
import reactor.pool.PooledRefMetadata;
import reactor.util.context.Context;

/**
 * One node's pool, built on reactor-pool directly: what r2dbc-pool's {@code ConnectionPool} does
 * for us, minus the per-acquisition operator chain around it.
 *
 * <p>r2dbc-pool wraps every acquisition in {@code Mono.defer}, {@code flatMap},
 * {@code discardOnCancel}, a validation {@code Flux} named with {@code String.format} and an
 * {@code onErrorResume}; here one object per acquisition, a {@link PooledConnection}, subscribes
 * to reactor-pool's acquisition, validates the connection (synchronously when the driver answers
 * its {@code LOCAL} check at once, as r2dbc-postgresql does), and is the pooled connection handed
 * on, its {@code close()} the release.
 *
 * <p>Kept from r2dbc-pool: the size bounds ({@code initialSize}/{@code minIdle} warm-up at the
 * first acquisition, {@code maxSize}), idle and life eviction on acquisition and in the
 * background every {@code maxIdleTime}, most-recently-used reuse so idle connections age out,
 * creation subscribed on {@code Schedulers.single()} and bounded by
 * {@code maxCreateConnectionTime} (a connection that arrives later is closed), a validation
 * query bounded by {@code maxValidationTime}, {@link io.r2dbc.spi.Lifecycle} hooks, a rollback
 * on release of a transaction begun through the pooled connection, {@code acquireRetry}, and
 * destruction closing the physical connection. Not kept: r2dbc-pool's hop onto the
 * connection's own executor before validating, which only matters for validation that does I/O.
 */
final class NodePool {

    /** Reactor's context key for a hook on values dropped after a timeout (what r2dbc-pool uses too). */
    private static final String ON_NEXT_DROPPED = "reactor.onNextDropped.local";

    private static final Consumer<Object> CLOSE_DROPPED = dropped -> {
        if (dropped instanceof Connection) {
            Mono.from(((Connection) dropped).close()).subscribe(null, ignored -> { });
        }
    };

    final InstrumentedPool<Connection> pool;

    final InstrumentedPool.PoolMetrics metrics;

    /** An acquisition: a validated pooled connection whose {@code close()} returns it. */
    final Mono<Connection> acquire;

    final @Nullable String validationQuery;

    final Duration maxValidationTime;

    final String name;

    /**
     * Connections this pool handed on and not given back yet: counted here, not read from
     * reactor-pool, whose acquired and allocated counts of a disposed pool can stay off by one
     * (see {@link Node.Lease#lent()}).
     */
    final AtomicInteger lent = new AtomicInteger();

    NodePool(String name, PoolSettings settings, ConnectionFactory target, NodeActivity activity) {
        this.name = name;
        this.validationQuery = settings.validationQuery();
        this.maxValidationTime = settings.maxValidationTime();
        Mono<Connection> allocator = Mono.<Connection>from(target.create()).name("r2dbc-routing.connect").subscribeOn(Schedulers.single());
        Duration maxCreate = settings.maxCreateConnectionTime();
        if (!maxCreate.isZero()) {
            allocator = allocator.timeout(maxCreate).contextWrite(NodePool::closeDropped);
        }
        long maxIdle = settings.maxIdleTime().toMillis();
        long maxLife = settings.maxLifeTime().toMillis();
        BiPredicate<Connection, PooledRefMetadata> evict = (connection, metadata) -> maxIdle > 0 && metadata.idleTime() >= maxIdle
            || maxLife > 0 && metadata.lifeTime() >= maxLife;
        PoolBuilder<Connection, ?> builder = PoolBuilder.from(allocator)
            .clock(activity)
            .metricsRecorder(activity)
            .evictionPredicate(evict)
            .destroyHandler(Connection::close)
            // most recently used first, so that connections left idle age out
            .idleResourceReuseMruOrder()
            .sizeBetween(Math.max(settings.minIdle(), settings.initialSize()), settings.maxSize());
        if (maxIdle > 0) {
            builder.evictInBackground(settings.maxIdleTime());
        }
        this.pool = builder.buildPool();
        this.metrics = this.pool.metrics();
        Mono<Connection> acquire = new Acquire(this);
        this.acquire = settings.acquireRetry() > 0 ? acquire.retry(settings.acquireRetry()) : acquire;
    }

    private static Context closeDropped(Context context) {
        Consumer<Object> outer = context.getOrDefault(ON_NEXT_DROPPED, null);
        return context.put(ON_NEXT_DROPPED, outer == null ? CLOSE_DROPPED : CLOSE_DROPPED.andThen(outer));
    }

    Mono<Void> disposeLater() {
        return this.pool.disposeLater();
    }

    boolean isDisposed() {
        return this.pool.isDisposed();
    }

    /**
     * Validates a connection just taken from the pool, calling {@code valid} or {@code invalid}
     * once: synchronously when the driver's {@code LOCAL} check answers at once, without an
     * operator chain or a timer (it does no I/O).
     */
    void validate(Connection connection, PooledConnection pooled) {
        String query = this.validationQuery;
        if (query != null) {
            Mono<Void> check = Flux.from(connection.createStatement(query).execute())
                .flatMap(result -> result.map((row, metadata) -> String.valueOf(row.get(0))))
                .then();
            if (!this.maxValidationTime.isZero()) {
                Duration within = this.maxValidationTime;
                check = check.timeout(within, Mono.error(() -> new R2dbcTimeoutException("pool '" + this.name
                    + "': validation timed out after " + within.toMillis() + "ms")));
            }
            check.subscribe(null, pooled::invalid, pooled::valid);
            return;
        }
        org.reactivestreams.Publisher<Boolean> check;
        try {
            check = connection.validate(ValidationDepth.LOCAL);
            if (check instanceof Callable) {
                Object answer = ((Callable<?>) check).call();
                if (answer == null || Boolean.TRUE.equals(answer)) {
                    pooled.valid();
                } else {
                    pooled.invalid(validationFailed());
                }
                return;
            }
        } catch (Exception error) {
            pooled.invalid(error);
            return;
        }
        Mono.from(check).subscribe(ok -> {
            if (!ok) {
                pooled.invalid(validationFailed());
            }
        }, pooled::invalid, pooled::valid);
    }

    static R2dbcNonTransientResourceException validationFailed() {
        return new R2dbcNonTransientResourceException("Connection validation failed");
    }

    @Override
    public String toString() {
        return this.name;
    }

    /** One acquisition: the {@link PooledConnection} subscribes to the pool and is handed on. */
    private static final class Acquire extends Mono<Connection> {

        private final NodePool pool;

        Acquire(NodePool pool) {
            this.pool = pool;
        }

        @Override
        public void subscribe(CoreSubscriber<? super Connection> actual) {
            this.pool.pool.acquire().subscribe(new PooledConnection(this.pool, actual));
        }
    }
}
