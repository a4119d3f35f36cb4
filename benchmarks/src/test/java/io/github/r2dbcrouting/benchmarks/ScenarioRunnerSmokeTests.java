package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Short runs of the scenario runner against a real cluster of each family: one replica kill in a
 * 4 s run, and one 1 s round of the throughput comparison. They check that the report is written
 * and that the numbers are sane, not how good they are.
 */
class ScenarioRunnerSmokeTests {

    @ParameterizedTest
    @EnumSource(Family.class)
    void shouldWriteReportOfShortReplicaKillRun(Family family) throws Exception {
        Path out = Files.createTempDirectory(Path.of("target"), "smoke-reports-");
        ScenarioRunner.Options options = ScenarioRunner.Options.scenariosOnly(List.of(family), List.of("replica-kill"), 4, 1, 2.5, out);

        ScenarioRunner.Run run = ScenarioRunner.run(options);

        String name = family.id() + "-replica-kill";
        Path directory = run.directory();
        assertThat(directory.resolve("report.md")).isRegularFile();
        assertThat(Files.readString(directory.resolve("report.md"))).contains("| " + family.label + " | replica-kill |", "## Side by side",
            "| replica-kill | fault -> ejection s |");
        assertThat(directory.resolve("scenario-" + name + ".json")).isRegularFile();
        assertThat(Files.readString(directory.resolve("scenario-" + name + ".json")))
            .contains("\"scenario\": \"replica-kill\"", "\"family\": \"" + family.id() + "\"", "\"acquiredAtEnd\": 0");
        Path png = directory.resolve("scenario-" + name + ".png");
        assertThat(png).isRegularFile();
        byte[] header = Files.readAllBytes(png);
        assertThat(header.length).isGreaterThan(1000);
        assertThat(new String(header, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");

        assertThat(run.scenarios()).hasSize(1);
        ScenarioResult result = run.scenarios().get(0);
        assertThat(result.readsAttempted()).isPositive();
        assertThat(result.acquiredAtEnd()).isZero();
        assertThat(result.acknowledgedMissing()).as("acknowledged writes missing on the primary").isZero();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void shouldWriteReportOfShortThroughputRun(Family family) throws Exception {
        Path out = Files.createTempDirectory(Path.of("target"), "smoke-reports-");
        ScenarioRunner.Options options = ScenarioRunner.Options.throughputOnly(List.of(family), 1, 1, out);

        ScenarioRunner.Run run = ScenarioRunner.run(options);

        Path directory = run.directory();
        assertThat(Files.readString(directory.resolve("report.md"))).contains("## Side by side", "## End-to-end throughput",
            "| " + family.label + " | " + Throughput.BARE + " |", "| " + family.label + " | " + Throughput.ROUTING_TWO + " |",
            "- " + family.label + ": routing / bare");
        assertThat(Files.readString(directory.resolve("throughput-" + family.id() + ".json")))
            .contains("\"family\": \"" + family.id() + "\"", "\"perRound\"");
        assertThat(run.throughput()).hasSize(1);
        ThroughputResult result = run.throughput().get(0);
        assertThat(result.family()).isEqualTo(family);
        assertThat(result.failed()).as("failed reads").isZero();
        assertThat(result.readsPerSecond(Throughput.BARE)).isPositive();
        assertThat(result.ratioOneReplica()).isPositive();
        assertThat(result.ratioTwoReplicas()).isPositive();
    }
}
