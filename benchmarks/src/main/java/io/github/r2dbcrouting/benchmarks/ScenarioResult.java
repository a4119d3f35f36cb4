package io.github.r2dbcrouting.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.github.r2dbcrouting.HealthSettings;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.benchmarks.ScenarioRunner.Event;

/** The measurements of one scenario run, as JSON and as a Markdown table row. */
public final class ScenarioResult {

    final Scenario scenario;

    final Family family;

    final Map<String, Object> json = new LinkedHashMap<>();

    final long readsAttempted;

    final long readsFailed;

    final long writesAttempted;

    final long writesFailed;

    /** Reads through {@code retryReads()}: attempted, failed. */
    final long retryReadsAttempted;

    final long retryReadsFailed;

    final WriteFigures writes;

    /** Fault start, fault injected, recovery start, recovered, in seconds since the load started. */
    final double[] marks;

    final int acquiredAtEnd;

    final double faultToEjection;

    final double recoveryToReadmission;

    final Map<String, Object> faultLatency;

    final Map<String, Object> otherLatency;

    final Map<String, Long> readErrors;

    /** Reads per 100 ms before the fault, the lowest bucket after it, and where. */
    final Floor floor;

    /** The slowest read of the run (good or failed), in milliseconds. */
    final double slowestReadMs;

    ScenarioResult(Scenario scenario, Family family, ScenarioRunner.Options options, HealthSettings health, PoolSettings pool,
                   java.time.Duration operationTimeout, Recorder recorder, int buckets, double[] marks, Event ejection, Event readmission,
                   List<Event> events, Map<Integer, String> nodeByPort, int acquiredAtEnd, List<NodeSnapshot> finalNodes, String readSql,
                   WriteFigures writes) {
        this.scenario = scenario;
        this.family = family;
        this.marks = marks.clone();
        this.writes = writes;
        this.retryReadsFailed = recorder.retryReadsFailed.sum();
        this.retryReadsAttempted = recorder.retryReadsOk.sum() + this.retryReadsFailed;
        long readsOk = Recorder.sum(recorder.readsOk);
        this.readsFailed = Recorder.sum(recorder.readsFailed);
        this.readsAttempted = readsOk + this.readsFailed;
        long writesOk = Recorder.sum(recorder.writesOk);
        this.writesFailed = Recorder.sum(recorder.writesFailed);
        this.writesAttempted = writesOk + this.writesFailed;
        this.acquiredAtEnd = acquiredAtEnd;
        this.faultToEjection = ejection == null ? Double.NaN : ejection.seconds() - marks[0];
        this.recoveryToReadmission = readmission == null ? Double.NaN : readmission.seconds() - marks[3];
        this.faultLatency = Recorder.percentiles(recorder.faultLatency);
        this.otherLatency = Recorder.percentiles(recorder.otherLatency);
        this.readErrors = Recorder.counts(recorder.readErrors);
        this.floor = Floor.of(list(recorder.readsOk, buckets), options.faultAtSeconds());
        this.slowestReadMs = Math.max(max(this.faultLatency), max(this.otherLatency));

        json.put("scenario", scenario.id());
        json.put("family", family.id());
        json.put("target", scenario.target);
        json.put("fault", scenario.fault(family));
        json.put("recovery", scenario.recovery);
        json.put("durationSeconds", options.durationSeconds());
        json.put("readers", options.concurrency());
        json.put("readersWithRetryReads", options.retryReaders());
        json.put("readQuery", readSql);
        json.put("writers", options.writers());
        json.put("writeEveryMs", options.writeEvery().toMillis());
        json.put("writeStatement", writes.writeSql());
        json.put("synchronousReplication", scenario.synchronous());
        json.put("operationTimeoutMs", operationTimeout.toMillis());
        json.put("pauseAfterFailedReadMs", Load.PAUSE_AFTER_FAILURE.toMillis());
        json.put("health", health.toString());
        json.put("pool", pool.toString());
        Map<String, Object> times = new LinkedHashMap<>();
        times.put("faultStart", marks[0]);
        times.put("faultInjected", marks[1]);
        times.put("recoveryStart", marks[2]);
        times.put("recovered", marks[3]);
        times.put("ejected", ejection == null ? null : ejection.seconds());
        times.put("ejectionCause", ejection == null ? null : ejection.event().cause().name());
        times.put("readmitted", readmission == null ? null : readmission.seconds());
        times.put("faultToEjectionSeconds", this.faultToEjection);
        times.put("recoveryToReadmissionSeconds", this.recoveryToReadmission);
        json.put("timesSeconds", times);
        Map<String, Object> reads = new LinkedHashMap<>();
        reads.put("attempted", this.readsAttempted);
        reads.put("ok", readsOk);
        reads.put("failed", this.readsFailed);
        reads.put("failedByType", this.readErrors);
        reads.put("retryReadsAttempted", this.retryReadsAttempted);
        reads.put("retryReadsFailed", this.retryReadsFailed);
        Map<String, Long> byNode = new TreeMap<>();
        Recorder.counts(recorder.readsByPort).forEach((port, count) -> byNode.put(nodeByPort.getOrDefault(Integer.valueOf(port), "port " + port), count));
        reads.put("okByNode", byNode);
        reads.put("latencyInFaultSecond", this.faultLatency);
        reads.put("latencyOutsideFaultSecond", this.otherLatency);
        reads.put("slowestMs", this.slowestReadMs);
        Map<String, Object> floorJson = new LinkedHashMap<>();
        floorJson.put("meanPer100msInTheSecondBeforeTheFault", this.floor.before());
        floorJson.put("lowestPer100msFromTheFaultOn", this.floor.lowest());
        floorJson.put("lowestAtSeconds", this.floor.lowestAt());
        floorJson.put("lowestOverBefore", this.floor.ratio());
        reads.put("floor", floorJson);
        json.put("reads", reads);
        Map<String, Object> writeJson = new LinkedHashMap<>();
        writeJson.put("attempted", this.writesAttempted);
        writeJson.put("ok", writesOk);
        writeJson.put("failed", this.writesFailed);
        writeJson.put("failedByType", Recorder.counts(recorder.writeErrors));
        writeJson.putAll(this.writes.json(marks));
        json.put("writes", writeJson);
        json.put("acquiredAtEnd", acquiredAtEnd);
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (NodeSnapshot node : finalNodes) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("name", node.name());
            n.put("state", node.state().name());
            n.put("role", node.role().name());
            n.put("writer", node.writer());
            n.put("acquired", node.acquired());
            n.put("idle", node.idle());
            n.put("reason", node.reason());
            nodes.add(n);
        }
        json.put("nodesAtEnd", nodes);
        List<Map<String, Object>> eventList = new ArrayList<>();
        for (Event event : events) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("atSeconds", event.seconds());
            e.put("type", event.event().type().name());
            e.put("node", event.event().node());
            e.put("cause", event.event().cause().name());
            e.put("message", event.event().message());
            eventList.add(e);
        }
        json.put("events", eventList);
        Map<String, Object> series = new LinkedHashMap<>();
        series.put("bucketMs", 100);
        series.put("readsOk", list(recorder.readsOk, buckets));
        series.put("readsFailed", list(recorder.readsFailed, buckets));
        series.put("writesOk", list(recorder.writesOk, buckets));
        series.put("writesFailed", list(recorder.writesFailed, buckets));
        json.put("series", series);
    }

    private static List<Long> list(java.util.concurrent.atomic.AtomicLongArray array, int buckets) {
        List<Long> values = new ArrayList<>();
        for (int i = 0; i < buckets && i < array.length(); i++) {
            values.add(array.get(i));
        }
        return values;
    }

    private static double max(Map<String, Object> percentiles) {
        Object max = percentiles.get("maxMs");
        return max instanceof Double && !((Double) max).isNaN() ? (Double) max : 0;
    }

    /**
     * The lowest count of good reads in a 100 ms bucket from the fault to the end of the run (the
     * last, partial bucket left out), against the mean over the second before the fault.
     */
    record Floor(double before, long lowest, double lowestAt) {

        static Floor of(List<Long> readsOk, double faultAtSeconds) {
            int fault = (int) Math.floor(faultAtSeconds * 10);
            int from = Math.max(0, fault - 10);
            double sum = 0;
            for (int i = from; i < fault; i++) {
                sum += readsOk.get(i);
            }
            double before = fault > from ? sum / (fault - from) : Double.NaN;
            long lowest = Long.MAX_VALUE;
            int at = -1;
            for (int i = fault; i < readsOk.size() - 1; i++) {
                if (readsOk.get(i) < lowest) {
                    lowest = readsOk.get(i);
                    at = i;
                }
            }
            return at < 0 ? new Floor(before, 0, Double.NaN) : new Floor(before, lowest, at / 10.0);
        }

        double ratio() {
            return this.before > 0 ? this.lowest / this.before : Double.NaN;
        }
    }

    /** @return reads per 100 ms: mean before the fault, lowest after it */
    public Floor floor() {
        return this.floor;
    }

    /** @return the slowest read of the run in milliseconds */
    public double slowestReadMs() {
        return this.slowestReadMs;
    }

    /** @return reads attempted (good and failed) */
    public long readsAttempted() {
        return this.readsAttempted;
    }

    /** @return pooled connections still acquired once the load stopped (after up to 5 s of draining) */
    public int acquiredAtEnd() {
        return this.acquiredAtEnd;
    }

    /** @return the scenario's id, e.g. {@code replica-kill} */
    public String id() {
        return this.scenario.id();
    }

    /** @return the family and the scenario, e.g. {@code mariadb-replica-kill}: the name of the run's files */
    public String name() {
        return this.family.id() + "-" + this.scenario.id();
    }

    /** @return reads through {@code retryReads()} that failed */
    public long retryReadsFailed() {
        return this.retryReadsFailed;
    }

    /** @return acknowledged writes missing on the final primary */
    public int acknowledgedMissing() {
        return this.writes.missing();
    }

    /** @return seconds from the fault to the ejection of its node, NaN when not seen */
    double faultToEjection() {
        return this.faultToEjection;
    }

    /** @return seconds from the recovery to the readmission of the node, NaN when not seen */
    double recoveryToReadmission() {
        return this.recoveryToReadmission;
    }

    String summary() {
        return "reads " + this.readsAttempted + " (" + this.readsFailed + " failed; through retryReads() " + this.retryReadsAttempted + ", "
            + this.retryReadsFailed + " failed), writes " + this.writesAttempted + " (" + this.writesFailed
            + " failed; acknowledged " + this.writes.acknowledged() + ", missing " + this.writes.missing() + "; longest gap "
            + ScenarioRunner.fmt(this.writes.gap()) + " s), fault->ejection " + ScenarioRunner.fmt(this.faultToEjection) + " s, recovery->readmission "
            + ScenarioRunner.fmt(this.recoveryToReadmission) + " s, acquired at end " + this.acquiredAtEnd + ", reads per 100 ms "
            + ScenarioRunner.fmt(this.floor.before()) + " before the fault, lowest " + this.floor.lowest() + " at " + ScenarioRunner.fmt(this.floor.lowestAt())
            + " s (" + ScenarioRunner.fmt(100 * this.floor.ratio()) + "%), slowest read " + ScenarioRunner.fmt(this.slowestReadMs) + " ms";
    }

    static String latency(Map<String, Object> p) {
        return ScenarioRunner.fmt((Double) p.get("p50Ms")) + " / " + ScenarioRunner.fmt((Double) p.get("p99Ms")) + " / "
            + ScenarioRunner.fmt((Double) p.get("maxMs"));
    }

    String markdownRow() {
        StringBuilder errors = new StringBuilder();
        this.readErrors.forEach((type, count) -> errors.append(errors.length() == 0 ? "" : ", ").append(type).append(": ").append(count));
        return "| " + this.family.label + " | " + this.scenario.id() + " | " + this.readsAttempted + " | " + this.readsFailed + " | "
            + this.retryReadsFailed + " of " + this.retryReadsAttempted + " | " + this.writesAttempted + " | " + this.writesFailed + " | "
            + this.writes.missing() + " of " + this.writes.acknowledged() + " | " + ScenarioRunner.fmt(this.faultToEjection) + " | " + ScenarioRunner.fmt(this.recoveryToReadmission)
            + " | " + latency(this.faultLatency) + " | " + latency(this.otherLatency) + " | " + this.acquiredAtEnd + " | "
            + (errors.length() == 0 ? "none" : errors) + " |";
    }
}
