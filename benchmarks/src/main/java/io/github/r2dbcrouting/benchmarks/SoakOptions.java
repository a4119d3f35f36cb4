package io.github.r2dbcrouting.benchmarks;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What the soak runs: family, cycles, seed, load and health settings, bounds; {@link #parse} reads
 * the command line.
 *
 * @param maxLagBytes  the lag bound on PostgreSQL (it does not apply to MariaDB)
 * @param maxLagTime   the lag bound on MariaDB, where a replica whose SQL thread is stopped counts as past it
 */
record SoakOptions(Family family, int cycles, long seed, Path out, Duration operationTimeout, Duration writeEvery, Duration healthInterval,
               Duration healthTimeout, long maxLagBytes, Duration maxLagTime, int plainReaders, int retryReaders, int transactionReaders,
               int writers, Duration warmUp, Duration detectWithin, Duration settleWithin, Duration maxDuration) {

    static SoakOptions defaults() {
        return new SoakOptions(Family.POSTGRESQL, 1000, 11, Path.of("benchmarks", "reports"), Duration.ofSeconds(2), Duration.ofMillis(20),
            Duration.ofMillis(500), Duration.ofMillis(500), 32 * 1024, Duration.ofSeconds(2), 10, 3, 3, 2, Duration.ofSeconds(3),
            Duration.ofSeconds(15), Duration.ofSeconds(60), Duration.ZERO);
    }

    SoakOptions withFamily(Family f) {
        return new SoakOptions(f, this.cycles, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval,
            this.healthTimeout, this.maxLagBytes, this.maxLagTime, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers,
            this.warmUp, this.detectWithin, this.settleWithin, this.maxDuration);
    }

    SoakOptions withCycles(int n) {
        return new SoakOptions(this.family, n, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval,
            this.healthTimeout, this.maxLagBytes, this.maxLagTime, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers,
            this.warmUp, this.detectWithin, this.settleWithin, this.maxDuration);
    }

    SoakOptions withSeed(long s) {
        return new SoakOptions(this.family, this.cycles, s, this.out, this.operationTimeout, this.writeEvery, this.healthInterval,
            this.healthTimeout, this.maxLagBytes, this.maxLagTime, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers,
            this.warmUp, this.detectWithin, this.settleWithin, this.maxDuration);
    }

    SoakOptions withOut(Path p) {
        return new SoakOptions(this.family, this.cycles, this.seed, p, this.operationTimeout, this.writeEvery, this.healthInterval,
            this.healthTimeout, this.maxLagBytes, this.maxLagTime, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers,
            this.warmUp, this.detectWithin, this.settleWithin, this.maxDuration);
    }

    /** Starts no cycle after {@code d} of cycling ({@code ZERO}: no limit), so that a long soak fits a time slot. */
    SoakOptions withMaxDuration(Duration d) {
        return new SoakOptions(this.family, this.cycles, this.seed, this.out, this.operationTimeout, this.writeEvery, this.healthInterval,
            this.healthTimeout, this.maxLagBytes, this.maxLagTime, this.plainReaders, this.retryReaders, this.transactionReaders, this.writers,
            this.warmUp, this.detectWithin, this.settleWithin, d);
    }

    int readers() {
        return this.plainReaders + this.retryReaders + this.transactionReaders;
    }

    /** The lag bound of this family, in words. */
    String lagBound() {
        return this.family == Family.MARIADB ? "maxLagTime " + this.maxLagTime.toMillis() + " ms" : "maxLagBytes " + this.maxLagBytes;
    }

    /**
     * {@code --soak [--family=postgresql|mariadb] [--cycles=1000] [--seed=11] [--max-minutes=N] [--out=benchmarks/reports]};
     * {@code --family=both} is the runner's: one soak per family.
     */
    static SoakOptions parse(String[] args) {
        SoakOptions o = defaults();
        for (String arg : args) {
            String[] kv = arg.split("=", 2);
            String value = kv.length > 1 ? kv[1] : "";
            o = switch (kv[0]) {
                case "--soak", "--family" -> o;
                case "--cycles" -> o.withCycles(positive("--cycles", value));
                case "--seed" -> o.withSeed(Long.parseLong(value));
                case "--out" -> o.withOut(Path.of(value));
                case "--max-minutes" -> o.withMaxDuration(Duration.ofMinutes(positive("--max-minutes", value)));
                default -> throw new IllegalArgumentException("unknown soak option '" + arg
                    + "'; soak options are --family=postgresql|mariadb|both, --cycles=N, --seed=N, --max-minutes=N, --out=DIR");
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
