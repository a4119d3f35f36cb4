package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A steady read load: N pipelines, each reading {@code inet_server_port()} through
 * {@link Routing#readOnly()} in a loop with a {@link #PAUSE} between reads, counting what a user
 * would see.
 */
final class ReadLoad implements AutoCloseable {

    /**
     * Between one pipeline's reads. The tests assert on what reads see across a fault, not on
     * throughput: 16 pipelines still make hundreds of reads a second (every node serves tens
     * before any check), while 5 ms kept two cores busy with reads alone and slowed the probes
     * whose timing the tests bound.
     */
    static final Duration PAUSE = Duration.ofMillis(20);

    private final LongAdder attempts = new LongAdder();

    private final LongAdder failures = new LongAdder();

    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    private final Map<Integer, LongAdder> servedBy = new ConcurrentHashMap<>();

    private final AtomicLong lastFailureNanos = new AtomicLong();

    private final AtomicLong slowestNanos = new AtomicLong();

    private final AtomicBoolean running = new AtomicBoolean(true);

    /** Reads that started before this (System.nanoTime()) are not counted in {@link #servedBy}. */
    private volatile long countFrom = System.nanoTime();

    private final Disposable loops;

    private final Mono<Void> done;

    ReadLoad(RoutingConnectionFactory factory, int pipelines, boolean retry, Duration readTimeout) {
        Mono<Db.Served> read = Db.whoServes(factory).timeout(readTimeout);
        if (retry) {
            read = read.transform(Routing.retryReads());
        }
        Mono<Db.Served> oneRead = read.contextWrite(Routing.readOnly());
        Mono<Void> loop = Mono.defer(() -> {
                this.attempts.increment();
                long start = System.nanoTime();
                return oneRead
                    .doOnNext(served -> {
                        if (start - this.countFrom >= 0) {
                            this.servedBy.computeIfAbsent(served.port(), p -> new LongAdder()).increment();
                        }
                        this.slowestNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
                    })
                    .then()
                    .onErrorResume(error -> {
                        this.failures.increment();
                        this.lastFailureNanos.set(System.nanoTime());
                        this.errors.computeIfAbsent(error.getClass().getSimpleName() + ": " + error.getMessage(), e -> new LongAdder()).increment();
                        return Mono.empty();
                    });
            })
            .then(Mono.delay(PAUSE).then())
            .repeat(this.running::get)
            .then();
        this.done = Flux.range(0, pipelines).flatMap(i -> loop).then().cache();
        this.loops = this.done.subscribe();
    }

    long attempts() {
        return this.attempts.sum();
    }

    /** The longest a successful read took, from its start. */
    Duration slowest() {
        return Duration.ofNanos(this.slowestNanos.get());
    }

    long failures() {
        return this.failures.sum();
    }

    Map<String, LongAdder> errors() {
        return this.errors;
    }

    long servedBy(int port) {
        LongAdder adder = this.servedBy.get(port);
        return adder == null ? 0 : adder.sum();
    }

    /**
     * Counts served reads from zero again, and only reads that start from now on: a read routed
     * before (still in flight, on a loaded machine for a while) is no evidence about routing after.
     */
    void resetServed() {
        this.countFrom = System.nanoTime();
        this.servedBy.clear();
    }

    /** Stops the loops and waits for the reads in flight. */
    @Override
    public void close() {
        this.running.set(false);
        try {
            this.done.block(Duration.ofSeconds(30));
        } finally {
            this.loops.dispose();
        }
    }

    @Override
    public String toString() {
        return "ReadLoad{attempts=" + attempts() + ", failures=" + failures() + ", slowest=" + slowest().toMillis() + "ms" + ", errors=" + this.errors + ", servedBy=" + this.servedBy + "}";
    }
}
