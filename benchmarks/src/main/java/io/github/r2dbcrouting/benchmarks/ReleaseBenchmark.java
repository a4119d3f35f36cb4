package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.IsolationLevel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import reactor.core.publisher.Mono;

/**
 * What a clean release costs, side by side over a stub driver (public API only): acquire and
 * release through a bare r2dbc-pool (its connection handed out as it is), through the routing
 * factory's {@code writes()} view with nothing to undo on release, and through it with an
 * isolation level to restore on release (the reset path). Probing is off and no acquire time is
 * set, so that the rows differ only in lending.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class ReleaseBenchmark {

    private ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(new StubConnectionFactory("bare")).build());

    private RoutingConnectionFactory routing = RoutingConnectionFactory.builder()
        .name("release")
        .primary("primary", new StubConnectionFactory("primary"))
        .pool(p -> p.maxAcquireTime(Duration.ZERO))
        .health(h -> h.interval(Duration.ZERO))
        .build();

    private Mono<Void> bare = Mono.empty();

    private Mono<Void> lentClean = Mono.empty();

    private Mono<Void> lentReset = Mono.empty();

    @Setup
    public void setUp() {
        ConnectionFactory writes = this.routing.writes();
        this.bare = Mono.usingWhen(this.pool.create(), connection -> Mono.<Void>empty(), Connection::close);
        this.lentClean = Mono.usingWhen(Mono.from(writes.create()), connection -> Mono.<Void>empty(), Connection::close);
        this.lentReset = Mono.usingWhen(Mono.from(writes.create()),
            connection -> Mono.from(connection.setTransactionIsolationLevel(IsolationLevel.SERIALIZABLE)), Connection::close);
        SyncSubscriber.run(this.bare);
        SyncSubscriber.run(this.lentClean);
        SyncSubscriber.run(this.lentReset);
    }

    @TearDown
    public void tearDown() {
        this.pool.disposeLater().block(Duration.ofSeconds(10));
        this.routing.close().block(Duration.ofSeconds(10));
    }

    /** A bare pool: its connection, released by the pool alone. */
    @Benchmark
    public Object bare() {
        return SyncSubscriber.run(this.bare);
    }

    /** Lent by the routing factory and released with nothing to undo. */
    @Benchmark
    public Object lentClean() {
        return SyncSubscriber.run(this.lentClean);
    }

    /** Lent, its isolation level changed, and restored on release. */
    @Benchmark
    public Object lentReset() {
        return SyncSubscriber.run(this.lentReset);
    }
}
