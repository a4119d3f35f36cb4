package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * A short run of the scenario runner against a real cluster: one replica kill in a 4 s run.
 * It checks that the report is written and that the numbers are sane, not how good they are.
 */
class ScenarioRunnerSmokeTests {

    @Test
    void shouldWriteReportOfShortReplicaKillRun() throws Exception {
        Path out = Files.createTempDirectory(Path.of("target"), "smoke-reports-");
        ScenarioRunner.Options options = new ScenarioRunner.Options(List.of("replica-kill"), 4, 1, 2.5, false, 0, 0, 16, 2,
            Duration.ofMillis(20), Duration.ofSeconds(2), out);

        ScenarioRunner.Run run = ScenarioRunner.run(options);

        Path directory = run.directory();
        assertThat(directory.resolve("report.md")).isRegularFile();
        assertThat(Files.readString(directory.resolve("report.md"))).contains("| replica-kill |");
        assertThat(directory.resolve("scenario-replica-kill.json")).isRegularFile();
        assertThat(Files.readString(directory.resolve("scenario-replica-kill.json")))
            .contains("\"scenario\": \"replica-kill\"", "\"acquiredAtEnd\": 0");
        Path png = directory.resolve("scenario-replica-kill.png");
        assertThat(png).isRegularFile();
        byte[] header = Files.readAllBytes(png);
        assertThat(header.length).isGreaterThan(1000);
        assertThat(new String(header, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");

        assertThat(run.scenarios()).hasSize(1);
        ScenarioResult result = run.scenarios().get(0);
        assertThat(result.readsAttempted()).isPositive();
        assertThat(result.acquiredAtEnd()).isZero();
    }
}
