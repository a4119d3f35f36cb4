package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
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
 * Acquire and release one pooled connection, no I/O (stub driver), each factory as users run it:
 * <ul>
 * <li>the reference, a bare r2dbc-pool {@link ConnectionPool} with r2dbc-pool's own defaults,
 * with and without the caller's {@code contextWrite} (a pipeline with a routing key writes it
 * whatever factory it runs on);</li>
 * <li>the {@link RoutingConnectionFactory} with its default settings, probing on, through the
 * read-only key and through its {@code reads()} view;</li>
 * <li>Spring's {@code AbstractRoutingConnectionFactory} with its key, over two pools with
 * r2dbc-pool's defaults.</li>
 * </ul>
 * Each benchmark subscribes the same shape of pipeline,
 * {@code Mono.usingWhen(create(), c -> Mono.empty(), Connection::close)}, built once, with the
 * same synchronous subscriber. One thread here; two in {@link AcquireContendedBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class AcquireBenchmark {

    private ConnectionPool barePool;

    private RoutingConnectionFactory routing;

    private ConnectionPool springPrimary;

    private ConnectionPool springReplica;

    private Mono<Void> bare;

    private Mono<Void> bareWithKey;

    private Mono<Void> routed;

    private Mono<Void> reads;

    private Mono<Void> spring;

    @Setup
    public void setUp() {
        this.barePool = Pools.bare("bare", new StubConnectionFactory("bare"));
        this.routing = RoutingConnectionFactory.builder()
            .name("bench")
            .primary("primary", new StubConnectionFactory("primary"))
            .replica("replica-1", new StubConnectionFactory("replica-1"))
            .replica("replica-2", new StubConnectionFactory("replica-2"))
            .build();
        this.springPrimary = Pools.bare("spring-primary", new StubConnectionFactory("spring-primary"));
        this.springReplica = Pools.bare("spring-replica", new StubConnectionFactory("spring-replica"));
        ReadOnlyRoutingConnectionFactory springRouting = new ReadOnlyRoutingConnectionFactory();
        springRouting.setTargetConnectionFactories(Map.of(ReadOnlyRoutingConnectionFactory.READ_ONLY, this.springReplica));
        springRouting.setDefaultTargetConnectionFactory(this.springPrimary);
        springRouting.afterPropertiesSet();

        this.bare = acquireRelease(this.barePool);
        this.bareWithKey = acquireRelease(this.barePool).contextWrite(Routing.readOnly());
        this.routed = acquireRelease(this.routing).contextWrite(Routing.readOnly());
        this.reads = acquireRelease(this.routing.reads());
        this.spring = acquireRelease(springRouting).contextWrite(ReadOnlyRoutingConnectionFactory.readOnly());
        awaitFirstProbes(this.routing);
        // fail fast (and warm the pools) if a pipeline does not complete
        SyncSubscriber.run(this.bare);
        SyncSubscriber.run(this.bareWithKey);
        SyncSubscriber.run(this.routed);
        SyncSubscriber.run(this.reads);
        SyncSubscriber.run(this.spring);
    }

    /** Probing is on, as users get it: measure once every node answered a probe and is in rotation. */
    private static void awaitFirstProbes(RoutingConnectionFactory routing) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!routing.nodes().stream().allMatch(n -> n.lastProbe() != null && n.state() == NodeState.UP)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("nodes not probed and up within 30 s: " + routing.nodes());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
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

    Mono<Void> bareMono() {
        return this.bare;
    }

    Mono<Void> bareWithKeyMono() {
        return this.bareWithKey;
    }

    Mono<Void> routedMono() {
        return this.routed;
    }

    Mono<Void> readsMono() {
        return this.reads;
    }

    Mono<Void> springMono() {
        return this.spring;
    }

    /** (a) a bare r2dbc-pool {@code ConnectionPool}, r2dbc-pool's defaults: the reference for {@code reads()}. */
    @Benchmark
    public Object barePool() {
        return SyncSubscriber.run(this.bare);
    }

    /** (a') the same, under the caller's {@code contextWrite}: the reference for the read-only key. */
    @Benchmark
    public Object barePoolContextWrite() {
        return SyncSubscriber.run(this.bareWithKey);
    }

    /** (b) the routing factory, defaults, read-only key: balancer, replica pool, retry operator. */
    @Benchmark
    public Object routingReadOnly() {
        return SyncSubscriber.run(this.routed);
    }

    /** (b') the routing factory's {@code reads()} view, defaults, no key. */
    @Benchmark
    public Object routingReads() {
        return SyncSubscriber.run(this.reads);
    }

    /** (c) Spring's {@code AbstractRoutingConnectionFactory} with a context-reading lookup key. */
    @Benchmark
    public Object springRoutingReadOnly() {
        return SyncSubscriber.run(this.spring);
    }
}
