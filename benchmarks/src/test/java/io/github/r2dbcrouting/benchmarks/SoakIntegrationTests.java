package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/**
 * The soak, short, on each family: faults picked at random (fixed seed) under the steady load, on a
 * real cluster, then every leak check. What a user of the factory would see after a bad day: no
 * connection lent out of any pool, retired ones included; no server session left, none idle in a
 * transaction; the heap and the threads back where they were; every acknowledged write on the
 * final primary.
 */
class SoakIntegrationTests {

    /** 20 cycles, every fault at least twice. */
    @Test
    void shouldLeakNothingAndLoseNoAcknowledgedWriteOverTwentyFaults() throws Exception {
        soakAndCheck(SoakOptions.defaults().withCycles(20).withSeed(32), HeapCensus.POSTGRESQL_CONNECTION);
    }

    /** 12 cycles, every fault at least twice: a MariaDB failover rebuilds the old primary from the new one's binary log. */
    @Test
    void shouldLeakNothingAndLoseNoAcknowledgedWriteOverTwelveFaultsOnMariaDb() throws Exception {
        soakAndCheck(SoakOptions.defaults().withFamily(Family.MARIADB).withCycles(12).withSeed(MARIADB_SEED), HeapCensus.MARIADB_CONNECTION);
    }

    static final long MARIADB_SEED = 7;

    private static void soakAndCheck(SoakOptions settings, String driverConnection) throws Exception {
        Path out = Files.createTempDirectory(Path.of("target"), "soak-reports-");
        SoakOptions options = settings.withOut(out);

        SoakResult result = Soak.run(options);

        assertThat(result.cycles()).hasSize(options.cycles());
        assertThat(result.cycles()).extracting(SoakResult.Cycle::fault).as("faults picked").hasSizeGreaterThan(0);
        assertThat(result.unsettled()).as("cycles after which not every node came back in its role").isZero();
        assertThat(result.acquiredAtEnd()).as("connections lent from any pool; retired: %s", result.retiredAtEnd()).isZero();
        assertThat(result.retiredAtEnd()).isEmpty();
        assertThat(result.idleInTransaction()).as("sessions idle in transaction").allSatisfy((node, n) -> assertThat(n).isZero());
        assertThat(result.sessionsLeft()).as("client sessions, before -> after").isEmpty();
        assertThat(result.newThreads()).as("threads left behind, by name").isEmpty();
        assertThat(result.instancesLeft()).as("live instances of our, the pools' and the driver's connection classes, before -> after")
            .isEmpty();
        assertThat(result.censusAfter().instances(driverConnection)).as("driver connections live after the close").isZero();
        // every pool the faults retired is gone: as many pools live as at the baseline (a closed factory's)
        assertThat(result.censusAfter().instances("reactor.pool.SimpleDequePool")).as("reactor-pool pools live after the close")
            .isLessThanOrEqualTo(result.censusBefore().instances("reactor.pool.SimpleDequePool"));
        assertThat(result.heapDeltaBesidesDriver()).as("heap growth after a full GC besides the driver's %d resolver groups, bytes (all: %d)",
            result.resolverGroupsGrown(), result.heapDelta()).isLessThan(SoakResult.HEAP_TOLERANCE);
        assertThat(result.acknowledgedWrites()).isPositive();
        assertThat(result.missingCount()).as("acknowledged writes missing on '%s': %s", result.finalPrimary(), result.missing()).isZero();
        assertThat(result.passed()).isTrue();

        Path directory;
        try (var listing = Files.list(out)) {
            directory = listing.findFirst().orElseThrow();
        }
        assertThat(Files.readString(directory.resolve("report.md"))).contains("## Soak: " + options.cycles() + " faults", "**Every check passed.**");
        assertThat(Files.readString(directory.resolve("soak.json"))).contains("\"cycles\": " + options.cycles(), "\"acquiredAtEnd\": 0");
    }
}
