package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.benchmarks.StubConnectionFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * (d) The route decision alone: {@link RoutingConnectionFactory#decideRead()} reads the topology
 * snapshot and asks the round-robin balancer for a replica. In the core's package because the
 * method is package-private. One thread here; two in {@link RouteDecisionContendedBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class RouteDecisionBenchmark {

    private RoutingConnectionFactory routing;

    @Setup
    public void setUp() {
        this.routing = RoutingConnectionFactory.builder()
            .name("bench")
            .primary("primary", new StubConnectionFactory("primary"))
            .replica("replica-1", new StubConnectionFactory("replica-1"))
            .replica("replica-2", new StubConnectionFactory("replica-2"))
            .health(h -> h.interval(Duration.ZERO))
            .build();
        if (this.routing.decideRead() == null) {
            throw new IllegalStateException("no replica in rotation: " + this.routing.nodes());
        }
    }

    @TearDown
    public void tearDown() {
        this.routing.close().block(Duration.ofSeconds(10));
    }

    @Benchmark
    public Object decideRead() {
        return this.routing.decideRead();
    }
}
