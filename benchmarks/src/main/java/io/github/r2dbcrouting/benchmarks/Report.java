package io.github.r2dbcrouting.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Collects the runs and writes {@code report.md} and the JSON files into one directory. */
final class Report {

    private final Path directory;

    private final ScenarioRunner.Options options;

    private final String machine = ScenarioRunner.machine();

    private final List<ThroughputResult> throughput = new ArrayList<>();

    private final List<ScenarioResult> scenarios = new ArrayList<>();

    private final List<ConsistencyResult> consistency = new ArrayList<>();

    Report(Path directory, ScenarioRunner.Options options) {
        this.directory = directory;
        this.options = options;
    }

    void throughput(ThroughputResult result) throws IOException {
        this.throughput.add(result);
        Files.writeString(this.directory.resolve("throughput-" + result.family().id() + ".json"), Json.write(result.json()));
    }

    void scenario(ScenarioResult result) throws IOException {
        this.scenarios.add(result);
        Files.writeString(this.directory.resolve("scenario-" + result.name() + ".json"), Json.write(result.json));
    }

    void consistency(ConsistencyResult result) {
        this.consistency.add(result);
    }

    @SuppressWarnings("unchecked")
    void finish() throws IOException {
        StringBuilder md = new StringBuilder();
        md.append("# r2dbc-routing benchmark report ").append(this.directory.getFileName()).append("\n\n");
        md.append("Machine at the start: ").append(this.machine).append(", at the end: ").append(ScenarioRunner.machine())
            .append(". Every server of a cluster runs on this same machine. Families: ")
            .append(this.options.families().stream().map(f -> f.label).toList()).append(".\n\n");
        md.append(SideBySide.markdown(this.options, this.throughput, this.scenarios, this.consistency));
        md.append(ThroughputResult.markdown(this.throughput));
        if (!this.scenarios.isEmpty()) {
            md.append("## Failover scenarios\n\n");
            md.append(this.options.concurrency()).append(" read pipelines looping the family's port query with `Routing.readOnly()`, ")
                .append(this.options.retryReaders()).append(" of them also with `Routing.retryReads()`, ")
                .append(this.options.writers()).append(" write pipelines inserting a 1 kB row (returning its id) every ")
                .append(this.options.writeEvery().toMillis()).append(" ms on the primary; client timeout ")
                .append(this.options.operationTimeout().toMillis()).append(" ms per operation, ").append(Load.PAUSE_AFTER_FAILURE.toMillis())
                .append(" ms pause after a failed read. Runs of ").append(this.options.durationSeconds()).append(" s, fault at t=")
                .append(ScenarioRunner.fmt(this.options.faultAtSeconds())).append(" s, recovery at t=")
                .append(ScenarioRunner.fmt(this.options.recoverAtSeconds())).append(" s. Health: interval 500 ms, timeout 500 ms, other settings")
                .append(" default (replica-freeze-defaults: all default, 1 s / 1 s, and a 10 s client timeout); replica-pause-replay also maxLagTime ")
                .append(Scenario.MAX_LAG_TIME.toMillis()).append(" ms; primary-failover with synchronous replication. Pool maxSize ")
                .append(this.options.concurrency()).append(", other pool settings default. Exact settings are in each JSON file.\n\n");
            md.append("Latency is of every read (good or failed) by its start time: in the second after the fault starts, and outside it. ")
                .append("Fault -> ejection is from the start of the fault call; recovery -> readmission from the return of the recovery call.\n\n");
            md.append("| family | scenario | reads | reads failed | retryReads() failed | writes | writes failed | acknowledged missing | ")
                .append("fault -> ejection s | recovery -> readmission s | ")
                .append("read p50 / p99 / max ms, fault second | read p50 / p99 / max ms, elsewhere | acquired at end | failed reads by type |\n");
            md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
            for (ScenarioResult result : this.scenarios) {
                md.append(result.markdownRow()).append('\n');
            }
            md.append('\n');
            for (ScenarioResult result : this.scenarios) {
                md.append("- `scenario-").append(result.name()).append(".png`, `scenario-").append(result.name()).append(".json`: reads by node ")
                    .append(((Map<String, Object>) result.json.get("reads")).get("okByNode")).append(", failed writes by type ")
                    .append(((Map<String, Object>) result.json.get("writes")).get("failedByType"))
                    .append(String.format(java.util.Locale.ROOT, "; reads per 100 ms %.0f before the fault, lowest %d after it (at %s s, %.0f%%); slowest read %.0f ms",
                        result.floor().before(), result.floor().lowest(), ScenarioRunner.fmt(result.floor().lowestAt()), 100 * result.floor().ratio(),
                        result.slowestReadMs()))
                    .append('\n');
            }
        }
        if (!this.consistency.isEmpty()) {
            md.append("\n## Read-your-writes under lag, and the cost of a session write\n\n");
            for (ConsistencyResult result : this.consistency) {
                md.append(result.markdown());
            }
        }
        Files.writeString(this.directory.resolve("report.md"), md.toString());
    }
}
