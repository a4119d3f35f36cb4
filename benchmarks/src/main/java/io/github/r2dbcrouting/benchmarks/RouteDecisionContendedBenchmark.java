package io.github.r2dbcrouting.benchmarks;

import org.openjdk.jmh.annotations.Threads;

/** {@link RouteDecisionBenchmark} with two threads sharing one balancer. */
@Threads(2)
public class RouteDecisionContendedBenchmark extends RouteDecisionBenchmark {
}
