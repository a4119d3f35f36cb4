package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import reactor.core.publisher.Mono;

/**
 * Acquire and release one pooled connection, no I/O (stub driver), through (a) a bare r2dbc-pool
 * {@link ConnectionPool}, (b) the {@link RoutingConnectionFactory} with the read-only key, and
 * (c) Spring's {@code AbstractRoutingConnectionFactory} with its key. Every pool has the routing
 * factory's default settings. Each benchmark subscribes the same shape of pipeline,
 * {@code Mono.usingWhen(create(), c -> Mono.empty(), Connection::close).contextWrite(key)},
 * built once, with the same synchronous subscriber. One thread here; two in
 * {@link AcquireContendedBenchmark}.
 *
 * <p>{@code pool=default} uses the routing factory's default pool settings, whose 5 s
 * {@code maxAcquireTime} makes r2dbc-pool arm (and cancel) a timer on Reactor's parallel
 * scheduler for every acquisition; {@code pool=no-acquire-timeout} switches that limit off in
 * every pool alike, to show the routing overhead without the timer's cost and noise.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class AcquireBenchmark {

    @Param({"default", "no-acquire-timeout"})
    public String pool;

    private ConnectionPool barePool;

    private RoutingConnectionFactory routing;

    private ConnectionPool springPrimary;

    private ConnectionPool springReplica;

    private Mono<Void> bare;

    private Mono<Void> routed;

    private Mono<Void> spring;

    @Setup
    public void setUp() {
        PoolSettings settings = switch (this.pool) {
            case "default" -> PoolSettings.defaults();
            case "no-acquire-timeout" -> PoolSettings.builder().maxAcquireTime(Duration.ZERO).build();
            default -> throw new IllegalArgumentException("pool must be default or no-acquire-timeout, was " + this.pool);
        };
        this.barePool = Pools.pool("bare", new StubConnectionFactory("bare"), settings);
        this.routing = RoutingConnectionFactory.builder()
            .name("bench")
            .primary("primary", new StubConnectionFactory("primary"))
            .replica("replica-1", new StubConnectionFactory("replica-1"))
            .replica("replica-2", new StubConnectionFactory("replica-2"))
            .pool(settings)
            .health(h -> h.interval(Duration.ZERO))
            .build();
        this.springPrimary = Pools.pool("spring-primary", new StubConnectionFactory("spring-primary"), settings);
        this.springReplica = Pools.pool("spring-replica", new StubConnectionFactory("spring-replica"), settings);
        ReadOnlyRoutingConnectionFactory springRouting = new ReadOnlyRoutingConnectionFactory();
        springRouting.setTargetConnectionFactories(Map.of(ReadOnlyRoutingConnectionFactory.READ_ONLY, this.springReplica));
        springRouting.setDefaultTargetConnectionFactory(this.springPrimary);
        springRouting.afterPropertiesSet();

        this.bare = acquireRelease(this.barePool).contextWrite(Routing.readOnly());
        this.routed = acquireRelease(this.routing).contextWrite(Routing.readOnly());
        this.spring = acquireRelease(springRouting).contextWrite(ReadOnlyRoutingConnectionFactory.readOnly());
        // fail fast (and warm the pools) if a pipeline does not complete
        SyncSubscriber.run(this.bare);
        SyncSubscriber.run(this.routed);
        SyncSubscriber.run(this.spring);
    }

    static Mono<Void> acquireRelease(ConnectionFactory factory) {
        return Mono.usingWhen(Mono.from(factory.create()), connection -> Mono.<Void>empty(), Connection::close);
    }

    @TearDown
    public void tearDown() {
        Duration patience = Duration.ofSeconds(10);
        this.routing.close().block(patience);
        this.barePool.disposeLater().block(patience);
        this.springPrimary.disposeLater().block(patience);
        this.springReplica.disposeLater().block(patience);
    }

    /** (a) a bare r2dbc-pool {@code ConnectionPool}. */
    @Benchmark
    public Object barePool() {
        return SyncSubscriber.run(this.bare);
    }

    /** (b) the routing factory, read-only key: balancer, replica pool, retry operator. */
    @Benchmark
    public Object routingReadOnly() {
        return SyncSubscriber.run(this.routed);
    }

    /** (c) Spring's {@code AbstractRoutingConnectionFactory} with a context-reading lookup key. */
    @Benchmark
    public Object springRoutingReadOnly() {
        return SyncSubscriber.run(this.spring);
    }
}
