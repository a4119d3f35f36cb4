package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * A factory over a {@link TopologySource} knows no node until the source answered and no writer
 * until its first probes did. Writes made in that window wait for the writer, reads for any node
 * that can serve them, up to {@code startupWait} after the factory was built, instead of failing
 * at once; once a writer was seen (or the window passed) a missing writer fails writes at once,
 * as with a configured primary. Nothing here runs on the path of a write that has a writer.
 */
final class StartupWait {

    private static final Duration POLL = Duration.ofMillis(10);

    private final Duration wait;

    private final Scheduler scheduler;

    private final long deadline;

    private volatile boolean over;

    private volatile boolean found;

    private volatile @Nullable String sourceProblem;

    StartupWait(Duration wait, Scheduler scheduler) {
        this.wait = wait;
        this.scheduler = scheduler;
        this.deadline = scheduler.now(TimeUnit.NANOSECONDS) + wait.toNanos();
    }

    Duration duration() {
        return this.wait;
    }

    /**
     * Whether reads must wait: a factory over a topology source ({@code startup} not {@code null})
     * that has no node to serve anything yet, in its start-up window. Reads wait for a node as
     * writes wait for the writer, instead of failing at once.
     */
    static boolean holdsReads(@Nullable StartupWait startup, Topology topology) {
        return startup != null && topology.readers.isEmpty() && topology.writer == null && startup.open();
    }

    /** Completes once {@code topology} has a node to read on (at once without a start-up window). */
    static Mono<Void> awaitNode(@Nullable StartupWait startup, Supplier<Topology> topology) {
        return startup == null ? Mono.empty() : startup.await(topology, t -> !t.readers.isEmpty() || t.writer != null);
    }

    /** Whether a write without a writer should still wait. */
    boolean open() {
        if (this.over) {
            return false;
        }
        if (this.scheduler.now(TimeUnit.NANOSECONDS) >= this.deadline) {
            this.over = true;
            return false;
        }
        return true;
    }

    /** Whether the start-up ended with a writer ({@link #writerSeen()}). */
    boolean found() {
        return this.found;
    }

    void writerSeen() {
        this.found = true;
        this.over = true;
    }

    /** What a write waits for. */
    static final Predicate<Topology> WRITER = topology -> topology.writer != null;

    /** Completes when {@code ready} holds for {@code topology}, or at the deadline; never errors. */
    Mono<Void> await(Supplier<Topology> topology, Predicate<Topology> ready) {
        long remaining = Math.max(1, this.deadline - this.scheduler.now(TimeUnit.NANOSECONDS));
        return Flux.interval(Duration.ZERO, POLL, this.scheduler)
            .filter(tick -> ready.test(topology.get()))
            .next()
            .timeout(Duration.ofNanos(remaining), this.scheduler)
            .onErrorResume(TimeoutException.class, error -> Mono.empty())
            .name("r2dbc-routing.startupWait")
            .then();
    }

    /** What the topology source last failed with, {@code null} once it answers. */
    void sourceProblem(@Nullable String problem) {
        this.sourceProblem = problem;
    }

    /** Added to the message of a write that found no writer: the wait it already had. */
    String note() {
        String problem = this.sourceProblem;
        return (this.found ? "" : "; no node was found out of recovery in the " + this.wait.toMillis() + "ms after start-up")
            + (problem != null ? "; the topology source failed: " + problem : "");
    }
}
