package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.spi.Connection;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The soak's steady load, closed loop: plain reads with {@code Routing.readOnly()}, reads that
 * also use {@code Routing.retryReads()}, reads inside a transaction with a savepoint (begin,
 * select, savepoint, select, rollback to it, select, release it, commit), and writers that insert
 * a row on the primary and keep the id of every insert the server acknowledged. Every pipeline
 * releases its connection the way plain user code does, {@code Mono.usingWhen(.., Connection::close)},
 * on success, error and cancel (a client timeout) alike.
 */
final class SoakLoad {

    /** The soak's table of acknowledged writes. */
    static final String WRITES = "soak_writes";

    /** A one-row table the reads in a transaction read, so that the server has a transaction to show (MariaDB's INNODB_TRX). */
    static final String ONE_ROW = "soak_one";

    /** After a failed operation, so that instant failures do not spin. */
    private static final Duration PAUSE_AFTER_FAILURE = Duration.ofMillis(10);

    private final RoutingConnectionFactory factory;

    private final Duration timeout;

    private final Duration writeEvery;

    private final String readSql;

    private final String transactionReadSql;

    private final String writeSql;

    private volatile boolean running = true;

    /** Per kind of pipeline ("read", "read+retry", "read in transaction", "write"): good, failed. */
    final Map<String, LongAdder[]> counts = new ConcurrentHashMap<>();

    final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    /** The first failure of each kind and type, with its stack: where a rare failure came from. */
    final Map<String, Throwable> firstErrors = new ConcurrentHashMap<>();

    private final Object ackedLock = new Object();

    /** Guarded by ackedLock: ids of acknowledged inserts, in {@code acked[0, ackedCount)}. */
    private long[] acked = new long[1 << 16];

    private int ackedCount;

    /** The statements are the cluster's family's: its port query, and an insert into {@link #WRITES} returning the id. */
    SoakLoad(RoutingConnectionFactory factory, BenchCluster cluster, Duration timeout, Duration writeEvery) {
        this.factory = factory;
        this.timeout = timeout;
        this.writeEvery = writeEvery;
        this.readSql = cluster.portSql();
        this.transactionReadSql = cluster.portSql() + " FROM " + ONE_ROW;
        this.writeSql = cluster.insertReturningId(WRITES, null);
    }

    /** Starts the pipelines; the returned Mono completes when all have stopped after {@link #stop()}. */
    Mono<Void> start(int plainReaders, int retryReaders, int transactionReaders, int writers) {
        List<Mono<Void>> pipelines = new ArrayList<>();
        for (int i = 0; i < plainReaders; i++) {
            pipelines.add(loop("read", read(false)));
        }
        for (int i = 0; i < retryReaders; i++) {
            pipelines.add(loop("read+retry", read(true)));
        }
        for (int i = 0; i < transactionReaders; i++) {
            pipelines.add(loop("read in transaction", readInTransaction()));
        }
        for (int i = 0; i < writers; i++) {
            pipelines.add(loop("write", write().doOnNext(this::acknowledged).then(Mono.delay(this.writeEvery))));
        }
        return Load.started(pipelines);
    }

    void stop() {
        this.running = false;
    }

    long good(String kind) {
        LongAdder[] c = this.counts.get(kind);
        return c == null ? 0 : c[0].sum();
    }

    long failed(String kind) {
        LongAdder[] c = this.counts.get(kind);
        return c == null ? 0 : c[1].sum();
    }

    /** The ids of every acknowledged insert, a copy. */
    long[] acknowledged() {
        synchronized (this.ackedLock) {
            return Arrays.copyOf(this.acked, this.ackedCount);
        }
    }

    private void acknowledged(long id) {
        synchronized (this.ackedLock) {
            if (this.ackedCount == this.acked.length) {
                this.acked = Arrays.copyOf(this.acked, this.acked.length * 2);
            }
            this.acked[this.ackedCount++] = id;
        }
    }

    private Mono<Void> loop(String kind, Mono<?> operation) {
        LongAdder[] c = this.counts.computeIfAbsent(kind, k -> new LongAdder[] {new LongAdder(), new LongAdder()});
        return Mono.defer(() -> operation.timeout(this.timeout)
                .doOnSuccess(ignored -> c[0].increment())
                .then()
                .onErrorResume(error -> {
                    c[1].increment();
                    String type = kind + ": " + Recorder.errorType(error);
                    this.errors.computeIfAbsent(type, t -> new LongAdder()).increment();
                    this.firstErrors.putIfAbsent(type, error);
                    return Mono.delay(PAUSE_AFTER_FAILURE).then();
                }))
            .repeat(() -> this.running)
            .then();
    }

    private Mono<Integer> read(boolean retry) {
        Mono<Integer> read = Mono.usingWhen(Mono.from(this.factory.create()), connection -> select(connection, this.readSql), Connection::close);
        return (retry ? read.transform(Routing.<Integer>retryReads()).single() : read).contextWrite(Routing.readOnly());
    }

    private Mono<Integer> readInTransaction() {
        return Mono.usingWhen(Mono.from(this.factory.create()),
                connection -> Mono.from(connection.beginTransaction())
                    .then(select(connection, this.transactionReadSql))
                    .then(Mono.from(connection.createSavepoint("soak")))
                    .then(select(connection, this.transactionReadSql))
                    .then(Mono.from(connection.rollbackTransactionToSavepoint("soak")))
                    .then(select(connection, this.transactionReadSql))
                    .then(Mono.from(connection.releaseSavepoint("soak")))
                    .then(select(connection, this.transactionReadSql))
                    .flatMap(port -> Mono.from(connection.commitTransaction()).thenReturn(port)),
                Connection::close)
            .contextWrite(Routing.readOnly());
    }

    private Mono<Long> write() {
        return Mono.usingWhen(Mono.from(this.factory.create()),
            connection -> Flux.from(connection.createStatement(this.writeSql).execute())
                .concatMap(result -> result.map((row, metadata) -> row.get(0, Long.class)))
                .single(),
            Connection::close);
    }

    private static Mono<Integer> select(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute())
            .concatMap(result -> result.map((row, metadata) -> ((Number) row.get(0)).intValue()))
            .single();
    }

}
