package io.github.r2dbcrouting.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * What a load run saw: reads and writes per 100 ms bucket (by completion time), failures by
 * error type, the serving node of each good read, and read latency split between the second
 * of the fault and the rest of the run (by start time). Thread-safe; cheap enough for the
 * pipelines' threads.
 */
final class Recorder {

    static final long BUCKET_NANOS = 100_000_000L;

    private final long origin;

    private final long faultStart;

    private final long faultEnd;

    final AtomicLongArray readsOk;

    final AtomicLongArray readsFailed;

    final AtomicLongArray writesOk;

    final AtomicLongArray writesFailed;

    final Map<String, LongAdder> readErrors = new ConcurrentHashMap<>();

    final Map<String, LongAdder> writeErrors = new ConcurrentHashMap<>();

    final Map<Integer, LongAdder> readsByPort = new ConcurrentHashMap<>();

    /** Reads through {@code retryReads()}: good, failed. */
    final LongAdder retryReadsOk = new LongAdder();

    final LongAdder retryReadsFailed = new LongAdder();

    private final Object ackedLock = new Object();

    /** Guarded by ackedLock: the ids of acknowledged writes and when each completed (nanoTime). */
    private final List<long[]> acked = new ArrayList<>();

    /** Microseconds; reads (good and failed) started in the fault's second. */
    final Histogram faultLatency = new ConcurrentHistogram(3_600_000_000L, 3);

    /** Microseconds; all other reads. */
    final Histogram otherLatency = new ConcurrentHistogram(3_600_000_000L, 3);

    /**
     * @param origin      {@code System.nanoTime()} at the start of the run
     * @param buckets     100 ms buckets to keep (completions after the last go in the last)
     * @param faultOffset nanoseconds from origin to the fault, negative for none
     */
    Recorder(long origin, int buckets, long faultOffset) {
        this.origin = origin;
        this.faultStart = faultOffset < 0 ? Long.MAX_VALUE : origin + faultOffset;
        this.faultEnd = faultOffset < 0 ? Long.MAX_VALUE : origin + faultOffset + 1_000_000_000L;
        this.readsOk = new AtomicLongArray(buckets);
        this.readsFailed = new AtomicLongArray(buckets);
        this.writesOk = new AtomicLongArray(buckets);
        this.writesFailed = new AtomicLongArray(buckets);
    }

    void readOk(long start, long end, int port, boolean retry) {
        if (retry) {
            this.retryReadsOk.increment();
        }
        this.readsOk.incrementAndGet(bucket(end));
        this.readsByPort.computeIfAbsent(port, p -> new LongAdder()).increment();
        latency(start, end);
    }

    void readFailed(long start, long end, Throwable error, boolean retry) {
        if (retry) {
            this.retryReadsFailed.increment();
        }
        this.readsFailed.incrementAndGet(bucket(end));
        this.readErrors.computeIfAbsent(errorType(error), t -> new LongAdder()).increment();
        latency(start, end);
    }

    void writeOk(long end, long id) {
        this.writesOk.incrementAndGet(bucket(end));
        synchronized (this.ackedLock) {
            this.acked.add(new long[] {id, end});
        }
    }

    /** The ids of the acknowledged writes, ascending. */
    long[] acknowledgedIds() {
        synchronized (this.ackedLock) {
            return this.acked.stream().mapToLong(a -> a[0]).sorted().toArray();
        }
    }

    /** When each acknowledged write completed (nanoTime), ascending. */
    long[] acknowledgedAt() {
        long[] at;
        synchronized (this.ackedLock) {
            at = this.acked.stream().mapToLong(a -> a[1]).toArray();
        }
        Arrays.sort(at);
        return at;
    }

    void writeFailed(long end, Throwable error) {
        this.writesFailed.incrementAndGet(bucket(end));
        this.writeErrors.computeIfAbsent(errorType(error), t -> new LongAdder()).increment();
    }

    private void latency(long start, long end) {
        long micros = Math.max(1, (end - start) / 1000);
        (start >= this.faultStart && start < this.faultEnd ? this.faultLatency : this.otherLatency).recordValue(micros);
    }

    private int bucket(long nanos) {
        long index = Math.max(0, (nanos - this.origin) / BUCKET_NANOS);
        return (int) Math.min(index, this.readsOk.length() - 1);
    }

    static long sum(AtomicLongArray array) {
        long sum = 0;
        for (int i = 0; i < array.length(); i++) {
            sum += array.get(i);
        }
        return sum;
    }

    static Map<String, Long> counts(Map<?, LongAdder> adders) {
        Map<String, Long> counts = new TreeMap<>();
        adders.forEach((key, adder) -> counts.put(String.valueOf(key), adder.sum()));
        return counts;
    }

    /**
     * The error's type, and the type of its cause where the outer one is a wrapper, e.g.
     * {@code R2dbcNonTransientResourceException(ConnectException)}.
     */
    static String errorType(Throwable error) {
        String type = error instanceof TimeoutException ? "TimeoutException (client read timeout)" : error.getClass().getSimpleName();
        Throwable cause = error.getCause();
        if (cause != null && cause != error && !(error instanceof TimeoutException)) {
            type += "(" + cause.getClass().getSimpleName() + ")";
        }
        return type;
    }

    /**
     * {@code error} with its causes and suppressed exceptions, each with its first {@code frames}
     * stack frames of this library, the driver and the pools (Reactor's own frames left out), on
     * one line per throwable: enough to say where a rare failure came from.
     */
    static String trace(Throwable error, int frames) {
        StringBuilder out = new StringBuilder();
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.Deque<Throwable> todo = new java.util.ArrayDeque<>(List.of(error));
        while (!todo.isEmpty() && seen.size() < 6) {
            Throwable t = todo.removeFirst();
            if (!seen.add(t)) {
                continue;
            }
            out.append(out.length() == 0 ? "" : " | ").append(t);
            int shown = 0;
            for (StackTraceElement frame : t.getStackTrace()) {
                String at = frame.getClassName();
                if (shown < frames && !at.startsWith("reactor.core.") && !at.startsWith("java.")) {
                    out.append(" @ ").append(frame.getClassName().replaceAll(".*\\.", "")).append('.').append(frame.getMethodName())
                        .append(':').append(frame.getLineNumber());
                    shown++;
                }
            }
            if (t.getCause() != null) {
                todo.addLast(t.getCause());
            }
            todo.addAll(Arrays.asList(t.getSuppressed()));
        }
        return out.toString();
    }

    /** p50, p99 and max in milliseconds, and the count. */
    static Map<String, Object> percentiles(Histogram histogram) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("count", histogram.getTotalCount());
        out.put("p50Ms", histogram.getTotalCount() == 0 ? Double.NaN : histogram.getValueAtPercentile(50) / 1000.0);
        out.put("p99Ms", histogram.getTotalCount() == 0 ? Double.NaN : histogram.getValueAtPercentile(99) / 1000.0);
        out.put("maxMs", histogram.getTotalCount() == 0 ? Double.NaN : histogram.getMaxValue() / 1000.0);
        return out;
    }
}
