package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import io.github.r2dbcrouting.Routing;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * Closed-loop load: {@code readers} pipelines each running one read after the other (some of them
 * through {@code Routing.retryReads()}), and {@code writers} pipelines each inserting a row,
 * keeping the id the server acknowledged, and then waiting {@code writeEvery}. Every
 * operation has a client-side timeout; a failed read is followed by a short pause so that a
 * path that fails at once cannot spin a core. {@link #stop()} lets each pipeline finish its
 * current operation.
 */
final class Load {

    /** After a failed read, so that instant failures do not spin. */
    static final Duration PAUSE_AFTER_FAILURE = Duration.ofMillis(10);

    private final Recorder recorder;

    private final Mono<Integer> read;

    private final Mono<Integer> retryRead;

    private final Mono<Long> write;

    private final Duration timeout;

    private final Duration writeEvery;

    private volatile boolean running = true;

    /**
     * @param reads       the factory reads go through, with {@code readContext} written on each read
     * @param readSql     a query returning one int (the serving port, or 1)
     * @param writes      the factory writes go through (no routing key), or {@code null} for no writes
     * @param writeSql    an insert returning the new row's id
     * @param timeout     client-side timeout of every operation
     * @param writeEvery  pause between two writes of one pipeline
     */
    Load(Recorder recorder, ConnectionFactory reads, Function<Context, Context> readContext, String readSql,
         ConnectionFactory writes, String writeSql, Duration timeout, Duration writeEvery) {
        this.recorder = recorder;
        this.timeout = timeout;
        this.writeEvery = writeEvery;
        Mono<Integer> read = Mono.usingWhen(Mono.from(reads.create()),
            connection -> Flux.from(connection.createStatement(readSql).execute())
                .concatMap(result -> result.map((row, metadata) -> ((Number) row.get(0)).intValue()))
                .last(),
            Connection::close);
        this.read = read.contextWrite(readContext);
        this.retryRead = read.transform(Routing.<Integer>retryReads()).single().contextWrite(readContext);
        this.write = writes == null ? Mono.empty() : Mono.usingWhen(Mono.from(writes.create()),
            connection -> Flux.from(connection.createStatement(writeSql).execute())
                .concatMap(result -> result.map((row, metadata) -> ((Number) row.get(0)).longValue()))
                .single(),
            Connection::close);
    }

    /**
     * Starts the pipelines, {@code retryReaders} of the {@code readers} through {@code retryReads()};
     * the returned Mono completes when all have stopped after {@link #stop()}.
     */
    Mono<Void> start(int readers, int retryReaders, int writers) {
        List<Mono<Void>> pipelines = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
            pipelines.add(readOnce(i < retryReaders).repeat(() -> this.running).then());
        }
        for (int i = 0; i < writers; i++) {
            pipelines.add(writeOnce().then(Mono.delay(this.writeEvery)).repeat(() -> this.running).then());
        }
        return started(pipelines);
    }

    /**
     * Subscribes to every pipeline at once and returns their completion, cached so that a caller
     * may wait on it after it is done; an error of a pipeline is seen through the returned value.
     */
    static Mono<Void> started(List<Mono<Void>> pipelines) {
        Mono<Void> done = Mono.when(pipelines).cache();
        done.subscribe(ignored -> {
        }, error -> {
        });
        return done;
    }

    void stop() {
        this.running = false;
    }

    private Mono<Void> readOnce(boolean retry) {
        Mono<Integer> read = retry ? this.retryRead : this.read;
        return Mono.defer(() -> {
            long start = System.nanoTime();
            return read.timeout(this.timeout)
                .doOnNext(port -> this.recorder.readOk(start, System.nanoTime(), port, retry))
                .then()
                .onErrorResume(error -> {
                    this.recorder.readFailed(start, System.nanoTime(), error, retry);
                    return Mono.delay(PAUSE_AFTER_FAILURE).then();
                });
        });
    }

    private Mono<Void> writeOnce() {
        return Mono.defer(() -> this.write.timeout(this.timeout)
            .doOnNext(id -> this.recorder.writeOk(System.nanoTime(), id))
            .then()
            .onErrorResume(error -> {
                this.recorder.writeFailed(System.nanoTime(), error);
                return Mono.empty();
            }));
    }
}
