package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.benchmarks.StubConnectionFactory;
import io.github.r2dbcrouting.benchmarks.SyncSubscriber;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Connection;
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
 * What lending costs, side by side on one pool (stub driver, no acquire timer): acquire and
 * release through the operator a route had before connections were lent ({@code onErrorResume},
 * the pool's connection handed out as it is), through the route's {@link Lending} operator with
 * a {@link LentConnection} whose release has nothing to undo, and through it with an isolation
 * level to restore (the reset path). In the core's package because those classes are
 * package-private.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@SuppressWarnings("NullAway.Init") // JMH fills the fields in @Setup
public class ReleaseBenchmark {

    private ConnectionPool pool;

    private Mono<Void> passThrough;

    private Mono<Void> lentClean;

    private Mono<Void> lentReset;

    @Setup
    public void setUp() {
        PoolSettings settings = PoolSettings.builder().maxAcquireTime(Duration.ZERO).build();
        this.pool = new ConnectionPool(settings.toConfiguration("release", new StubConnectionFactory("release"), new NodeActivity(System::nanoTime)));
        Mono<Connection> raw = this.pool.create();
        Mono<Connection> before = raw.onErrorResume(Mono::error);
        Mono<Connection> lent = new Lending(raw, new Lender("bench", "node", false, null)::lend, Mono::error);
        this.passThrough = Mono.usingWhen(before, connection -> Mono.<Void>empty(), Connection::close);
        this.lentClean = Mono.usingWhen(lent, connection -> Mono.<Void>empty(), Connection::close);
        this.lentReset = Mono.usingWhen(lent, connection -> Mono.from(connection.setTransactionIsolationLevel(IsolationLevel.SERIALIZABLE)),
            Connection::close);
        SyncSubscriber.run(this.passThrough);
        SyncSubscriber.run(this.lentClean);
        SyncSubscriber.run(this.lentReset);
    }

    @TearDown
    public void tearDown() {
        this.pool.disposeLater().block(Duration.ofSeconds(10));
    }

    /** The route's operator before: the pool's connection, released by the pool alone. */
    @Benchmark
    public Object passThrough() {
        return SyncSubscriber.run(this.passThrough);
    }

    /** Lent, and released with nothing to undo. */
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
