package io.github.r2dbcrouting.benchmarks;

import org.openjdk.jmh.annotations.Threads;

/** {@link AcquireBenchmark} with two threads sharing the same pools (the machine has two cores). */
@Threads(2)
public class AcquireContendedBenchmark extends AcquireBenchmark {
}
