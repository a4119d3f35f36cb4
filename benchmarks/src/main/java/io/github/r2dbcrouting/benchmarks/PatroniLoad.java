package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.testkit.PatroniMember;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The Patroni scenarios' load: 16 readers ({@code retryReads()}) and 2 writers (one INSERT every
 * 20 ms each); each write inserts a new id and returns the port that took it, each read the port
 * that served it.
 */
final class PatroniLoad {

    private static final AtomicLong IDS = new AtomicLong();

    final AtomicInteger reads = new AtomicInteger();

    final AtomicInteger readsFailed = new AtomicInteger();

    final AtomicInteger writesFailed = new AtomicInteger();

    final Set<Long> acked = ConcurrentHashMap.newKeySet();

    final Map<Integer, Long> firstWriteOn = new ConcurrentHashMap<>();

    final Set<Integer> readPorts = ConcurrentHashMap.newKeySet();

    /** The last read served by each port: nanoTime. */
    final Map<Integer, Long> lastReadOn = new ConcurrentHashMap<>();

    private final Disposable running;

    PatroniLoad(ConnectionFactory factory) {
        Flux<Object> readers = Flux.range(0, 16).flatMap(i -> Mono.defer(() -> read(factory))
            .transform(Routing.retryReads())
            .contextWrite(Routing.readOnly())
            .doOnNext(port -> {
                this.reads.incrementAndGet();
                this.readPorts.add(port);
                this.lastReadOn.put(port, System.nanoTime());
            })
            .doOnError(error -> this.readsFailed.incrementAndGet())
            .onErrorResume(error -> Mono.empty())
            .repeat(), 16).cast(Object.class);
        Flux<Object> writers = Flux.range(0, 2).flatMap(i -> Mono.defer(() -> write(factory, IDS.incrementAndGet()))
            .onErrorResume(error -> {
                this.writesFailed.incrementAndGet();
                return Mono.empty();
            })
            .then(Mono.delay(Duration.ofMillis(20)))
            .repeat(), 2).cast(Object.class);
        this.running = Flux.merge(readers, writers).subscribe();
    }

    private static Mono<Integer> read(ConnectionFactory factory) {
        return Mono.usingWhen(Mono.from(factory.create()),
            connection -> Flux.from(connection.createStatement("SELECT inet_server_port()").execute())
                .flatMap(result -> result.map((row, meta) -> row.get(0, Integer.class))).single(),
            Connection::close);
    }

    private Mono<Integer> write(ConnectionFactory factory, long id) {
        return Mono.usingWhen(Mono.from(factory.create()),
                connection -> Flux.from(connection.createStatement("INSERT INTO bench_ids (id) VALUES (" + id + ") RETURNING inet_server_port()")
                    .execute()).flatMap(result -> result.map((row, meta) -> row.get(0, Integer.class))).single(),
                Connection::close)
            .timeout(Duration.ofSeconds(2))
            .doOnNext(port -> {
                this.acked.add(id);
                this.firstWriteOn.putIfAbsent(port, System.nanoTime());
            });
    }

    Set<Long> missingOn(PatroniMember member) {
        Set<Long> missing = new HashSet<>(this.acked);
        member.queryColumn("SELECT id FROM bench_ids").forEach(id -> missing.remove(Long.valueOf(id)));
        return missing;
    }

    void stop() {
        this.running.dispose();
    }
}
