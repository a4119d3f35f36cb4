package io.github.r2dbcrouting.benchmarks;

import java.nio.file.Path;
import java.time.Duration;

/** What the soak runs: cycles, seed, load and health settings, bounds; {@link #parse} reads the command line. */
record SoakOptions(int cycles, long seed, Path out, Duration operationTimeout, Duration writeEvery, Duration healthInterval,
               Duration healthTimeout, long maxLagBytes, int plainReaders, int retryReaders, int transactionReaders, int writers,
               Duration warmUp, Duration detectWithin, Duration settleWithin, Duration maxDuration) {

    static SoakOptions defaults() {
        return new SoakOptions(1000, 11, Path.of("benchmarks", "reports"), Duration.ofSeconds(2), Duration.ofMillis(20),
            Duration.ofMillis(500), Duration.ofMillis(500), 32 * 1024, 10, 3, 3, 2, Duration.ofSeconds(3), Duration.ofSeconds(15),
            Duration.ofSeconds(60), Duration.ZERO);
    }

    SoakOptions withCycles(int n) {
        return new SoakOptions(n, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
            this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
            this.detectWithin, this.settleWithin, this.maxDuration);
    }

    SoakOptions withSeed(long s) {
        return new SoakOptions(this.cycles, s, this.out, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
            this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
            this.detectWithin, this.settleWithin, this.maxDuration);
    }

    SoakOptions withOut(Path p) {
        return new SoakOptions(this.cycles, this.seed, p, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
            this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
            this.detectWithin, this.settleWithin, this.maxDuration);
    }

    /** Starts no cycle after {@code d} of cycling ({@code ZERO}: no limit), so that a long soak fits a time slot. */
    SoakOptions withMaxDuration(Duration d) {
        return new SoakOptions(this.cycles, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval, this.healthTimeout,
            this.maxLagBytes, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers, this.warmUp,
            this.detectWithin, this.settleWithin, d);
    }

    int readers() {
        return this.plainReaders + this.retryReaders + this.transactionReaders;
    }

    /** {@code --soak [--cycles=1000] [--seed=11] [--max-minutes=N] [--out=benchmarks/reports]}. */
    static SoakOptions parse(String[] args) {
        SoakOptions o = defaults();
        for (String arg : args) {
            String[] kv = arg.split("=", 2);
            String value = kv.length > 1 ? kv[1] : "";
            o = switch (kv[0]) {
                case "--soak" -> o;
                case "--cycles" -> o.withCycles(positive("--cycles", value));
                case "--seed" -> o.withSeed(Long.parseLong(value));
                case "--out" -> o.withOut(Path.of(value));
                case "--max-minutes" -> o.withMaxDuration(Duration.ofMinutes(positive("--max-minutes", value)));
                default -> throw new IllegalArgumentException("unknown soak option '" + arg
                    + "'; soak options are --cycles=N, --seed=N, --max-minutes=N, --out=DIR");
            };
        }
        return o;
    }

    private static int positive(String name, String value) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException error) {
            throw new IllegalArgumentException(name + " must be a positive integer, was '" + value + "'", error);
        }
        if (n <= 0) {
            throw new IllegalArgumentException(name + " must be a positive integer, was " + n);
        }
        return n;
    }
}
