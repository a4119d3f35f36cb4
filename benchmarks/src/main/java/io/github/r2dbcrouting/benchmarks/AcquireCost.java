package io.github.r2dbcrouting.benchmarks;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.UnaryOperator;

import io.github.r2dbcrouting.RoutingConnectionFactory;

import reactor.core.publisher.Mono;

/**
 * {@link AcquireBenchmark}'s rows on one thread, measured so that a shared, loaded machine still
 * gives usable ratios: the rows take turns batch by batch (drift hits them alike), each row's
 * time is its best batch and its median batch (the best batch approaches the cost without
 * preemption), and allocation is counted on the calling thread alone (probes and pool
 * housekeeping on other threads do not blur it). JMH stays the reference on a quiet machine.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar io.github.r2dbcrouting.benchmarks.AcquireCost [batches] [opsPerBatch] [threads]}
 * (defaults 800, 1000, 1) {@code [variants]}. With two threads both run the same row at once, a batch's time is
 * the slower thread's, and allocation is the calling thread's share.
 *
 * <p>With {@code variants}, three more rows say where the routing factory's time goes (each vs
 * the bare pool): {@code reads()} with probing off and no {@code maxAcquireTime} (what the
 * defaults' probes and acquisition deadline cost: measured at nothing, the deadline arms no
 * timer for an acquisition served at once), {@code reads()} over one replica (the balancer's
 * choice between two pools and {@link io.github.r2dbcrouting.Balancer suspicion} check cost the
 * difference to the default row), and {@code writes()} (no balancer: the layers every route
 * pays, the lent connection, which is also the acquisition's subscriber, and the pool's activity hooks).
 */
public final class AcquireCost {

    private AcquireCost() {
    }

    public static void main(String[] args) {
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 800;
        int ops = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
        int threadCount = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        ExecutorService helpers = Executors.newFixedThreadPool(Math.max(1, threadCount - 1), r -> {
            Thread t = new Thread(r, "acquire-cost");
            t.setDaemon(true);
            return t;
        });
        AcquireBenchmark bench = new AcquireBenchmark();
        bench.setUp();
        List<RoutingConnectionFactory> extra = new ArrayList<>();
        try {
            Map<String, Mono<Void>> rows = new LinkedHashMap<>();
            rows.put("bare r2dbc-pool (its defaults)", bench.bareMono());
            rows.put("bare r2dbc-pool (its defaults) + contextWrite", bench.bareWithKeyMono());
            rows.put("routing readOnly() (defaults, probes on)", bench.routedMono());
            rows.put("routing reads() (defaults, probes on)", bench.readsMono());
            rows.put("Spring AbstractRoutingConnectionFactory", bench.springMono());
            if (args.length > 3 && "variants".equals(args[3])) {
                // where the routing factory's time goes: what the defaults add (probes, the
                // acquisition deadline), what the read route adds (balancer, suspicion, two pools)
                RoutingConnectionFactory quiet = variant("quiet", b -> b.health(h -> h.interval(Duration.ZERO))
                    .pool(p -> p.maxAcquireTime(Duration.ZERO)), 2);
                RoutingConnectionFactory single = variant("single", b -> b, 1);
                extra.add(quiet);
                extra.add(single);
                rows.put("  reads(), probes off, maxAcquireTime ZERO", AcquireBenchmark.acquireRelease(quiet.reads()));
                rows.put("  reads(), defaults, one replica", AcquireBenchmark.acquireRelease(single.reads()));
                rows.put("  writes(), defaults", AcquireBenchmark.acquireRelease(single.writes()));
                // the variants' first probes
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3));
            }
            com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long thread = Thread.currentThread().getId();
            Map<String, double[]> times = new LinkedHashMap<>();
            Map<String, Double> bytes = new LinkedHashMap<>();
            for (Map.Entry<String, Mono<Void>> row : rows.entrySet()) {
                run(row.getValue(), 100_000);
                times.put(row.getKey(), new double[batches]);
            }
            for (int b = 0; b < batches; b++) {
                List<String> order = new ArrayList<>(rows.keySet());
                if (b % 2 == 1) {
                    Collections.reverse(order);
                }
                for (String name : order) {
                    Mono<Void> mono = rows.get(name);
                    List<Future<Long>> others = new ArrayList<>();
                    for (int t = 1; t < threadCount; t++) {
                        others.add(helpers.submit(() -> timed(mono, ops)));
                    }
                    long allocated = threads.getThreadAllocatedBytes(thread);
                    long elapsed = timed(mono, ops);
                    long done = threads.getThreadAllocatedBytes(thread);
                    for (Future<Long> other : others) {
                        elapsed = Math.max(elapsed, join(other));
                    }
                    times.get(name)[b] = (double) elapsed / ops;
                    if (b == batches - 1) {
                        bytes.put(name, (double) (done - allocated) / ops);
                    }
                }
            }
            String reference = "bare r2dbc-pool (its defaults)";
            String referenceWithKey = "bare r2dbc-pool (its defaults) + contextWrite";
            System.out.printf(Locale.ROOT, "%-50s %10s %10s %10s %14s%n", "through (" + threadCount + " thread(s))", "best ns", "median ns", "B/op", "best vs ref");
            for (String name : rows.keySet()) {
                double[] t = times.get(name).clone();
                Arrays.sort(t);
                String ref = name.contains("readOnly") || name.contains("Spring") ? referenceWithKey : reference;
                double[] r = times.get(ref).clone();
                Arrays.sort(r);
                System.out.printf(Locale.ROOT, "%-50s %10.0f %10.0f %10.0f %13.3fx%n", name, t[0], t[t.length / 2], bytes.get(name), t[0] / r[0]);
            }
        } finally {
            for (RoutingConnectionFactory factory : extra) {
                factory.close().block(Duration.ofSeconds(10));
            }
            helpers.shutdownNow();
            bench.tearDown();
        }
    }

    /** A routing factory over stub nodes, the defaults changed by {@code settings}. */
    private static RoutingConnectionFactory variant(String name, UnaryOperator<RoutingConnectionFactory.Builder> settings, int replicas) {
        RoutingConnectionFactory.Builder builder = RoutingConnectionFactory.builder()
            .name(name)
            .primary("primary", new StubConnectionFactory("primary"));
        for (int i = 1; i <= replicas; i++) {
            builder.replica("replica-" + i, new StubConnectionFactory("replica-" + i));
        }
        return settings.apply(builder).build();
    }

    private static long timed(Mono<Void> mono, int ops) {
        long start = System.nanoTime();
        run(mono, ops);
        return System.nanoTime() - start;
    }

    private static long join(Future<Long> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a measuring thread failed", e.getCause());
        }
    }

    private static void run(Mono<Void> mono, int ops) {
        for (int i = 0; i < ops; i++) {
            SyncSubscriber.run(mono);
        }
    }
}
