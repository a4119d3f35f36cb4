package io.github.r2dbcrouting.benchmarks;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.r2dbcrouting.Balancer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * (d) The route decision alone, through public API only: what the read route does once per
 * acquisition, a volatile read of the immutable list of replicas in rotation and the default
 * round-robin balancer's pick. One thread here; two in {@link RouteDecisionContendedBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class RouteDecisionBenchmark {

    /** Stands for the topology snapshot that the factory swaps when health changes. */
    private volatile List<Balancer.Candidate> readers = List.of(new Replica("replica-1"), new Replica("replica-2"));

    private final Balancer balancer = Balancer.roundRobin();

    @Benchmark
    public Object decideRead() {
        List<Balancer.Candidate> snapshot = this.readers;
        return snapshot.get(this.balancer.select(snapshot));
    }

    private record Replica(String name) implements Balancer.Candidate {

        @Override
        public int inUse() {
            return 0;
        }
    }
}
