package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A short run of the scenario runner against a real cluster of each family: one replica kill in a
 * 4 s run. It checks that the report is written and that the numbers are sane, not how good they are.
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
}
