package io.github.r2dbcrouting.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.RetiredPool;

/**
 * What a soak measured and checked: the cycles, the load, and after it the leak checks and the
 * acknowledged writes.
 *
 * @param heapBefore    used heap after a full GC, before the soak's factory was built (bytes)
 * @param heapAfter     the same after it was closed
 * @param newThreads    thread groups (name, digits folded) with more live threads after than before
 * @param missing       up to 20 acknowledged ids missing on the final primary
 * @param censusBefore  live instances by class before the soak's factory was built
 * @param censusAfter   the same after it was closed
 */
record SoakResult(SoakOptions options, double totalSeconds, double loadSeconds, List<Cycle> cycles, Map<String, Object> load,
                  Map<String, Long> events, List<NodeSnapshot> finalNodes, List<RetiredPool> retiredAtEnd, int acquiredAtEnd,
                  boolean drained, int retiredMax, int cyclesWithRetired, Map<String, Integer> idleInTransaction,
                  Map<String, Integer> sessionsBefore, Map<String, Integer> sessionsAfter, long heapBefore, long heapAfter,
                  int threadsBefore, int threadsAfter, Map<String, Integer> newThreads, int acknowledgedWrites, int rowsOnPrimary,
                  List<Long> missing, int missingCount, String finalPrimary, HeapCensus censusBefore, HeapCensus censusAfter) {

    /**
     * What one resolver group the driver makes per connection keeps on the heap, with its entries
     * in the event loops' termination listeners: about 2.9 kB per physical connection ever opened,
     * measured on a heap dump of r2dbc-postgresql 1.1.3 (issue #11); rounded up.
     */
    static final long DRIVER_BYTES_PER_RESOLVER = 3_000;

    /** Watched classes ({@link HeapCensus#watched}) with more live instances after the close than before the soak. */
    Map<String, String> instancesLeft() {
        return this.censusAfter.leftSince(this.censusBefore);
    }

    /** Resolver groups the driver left on the shared event loops over the soak. */
    long resolverGroupsGrown() {
        return this.censusAfter.resolverGroups() - this.censusBefore.resolverGroups();
    }

    /** The driver's share of the heap growth: its resolver groups, {@link #DRIVER_BYTES_PER_RESOLVER} each. */
    long driverShare() {
        return Math.max(0, resolverGroupsGrown()) * DRIVER_BYTES_PER_RESOLVER;
    }

    /** The heap growth that is not the driver's resolver groups. */
    long heapDeltaBesidesDriver() {
        return heapDelta() - driverShare();
    }

    /** One fault and its undoing. Times in seconds; NaN when the ejection was not seen within the deadline. */
    record Cycle(int index, SoakFault fault, String target, double detectedSeconds, double settleSeconds, double totalSeconds,
                 boolean settled) {

        String describe() {
            return fault.id() + " on " + target + ": " + (fault == SoakFault.REMOVE_ADD ? "removed in " : "ejected after ")
                + ScenarioRunner.fmt(detectedSeconds) + " s, settled " + ScenarioRunner.fmt(settleSeconds) + " s after recovery ("
                + ScenarioRunner.fmt(totalSeconds) + " s)";
        }
    }

    long heapDelta() {
        return this.heapAfter - this.heapBefore;
    }

    int idleInTransactionTotal() {
        return this.idleInTransaction.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Nodes with more client sessions after the close than before the soak. */
    Map<String, String> sessionsLeft() {
        Map<String, String> left = new LinkedHashMap<>();
        this.sessionsBefore.forEach((node, before) -> {
            int after = this.sessionsAfter.getOrDefault(node, 0);
            if (after > before) {
                left.put(node, before + " -> " + after);
            }
        });
        return left;
    }

    /**
     * Whether every check passed: nothing lent, nothing idle in a transaction, no session, thread
     * or write lost, no instance of the library's, the pools' or the driver's connection classes
     * left, and the heap back but for the driver's resolver groups.
     */
    boolean passed() {
        return failures().isEmpty();
    }

    /** The checks that failed, in words. */
    List<String> failures() {
        List<String> failures = new ArrayList<>();
        if (this.acquiredAtEnd != 0) {
            failures.add(this.acquiredAtEnd + " connection(s) still lent (retired pools: " + this.retiredAtEnd + ")");
        }
        if (idleInTransactionTotal() != 0) {
            failures.add("sessions idle in transaction " + this.idleInTransaction);
        }
        if (!sessionsLeft().isEmpty()) {
            failures.add("client sessions left " + sessionsLeft());
        }
        if (!this.newThreads.isEmpty()) {
            failures.add("threads left " + this.newThreads);
        }
        if (!instancesLeft().isEmpty()) {
            failures.add("instances left after the close (before -> after) " + instancesLeft());
        }
        if (heapDeltaBesidesDriver() >= HEAP_TOLERANCE) {
            failures.add("heap grew by " + JvmCensus.mb(heapDelta()) + " MB, " + JvmCensus.mb(heapDeltaBesidesDriver()) + " MB of it besides the driver's "
                + resolverGroupsGrown() + " resolver groups");
        }
        if (this.missingCount != 0) {
            failures.add(this.missingCount + " acknowledged write(s) missing on '" + this.finalPrimary + "', e.g. " + this.missing);
        }
        if (unsettled() != 0) {
            failures.add(unsettled() + " cycle(s) where the factory did not get every node back in its role");
        }
        return failures;
    }

    /** How the soak's cluster replicates, in words. */
    String replication() {
        return this.options.family() == Family.MARIADB
            ? "Semi-synchronous replication (AFTER_SYNC, on every node), the replica with the highest GTID received promoted"
            : "Synchronous replication (`ANY 1 (*)`), the standby with the most WAL received promoted";
    }

    /** "Within a few MB": what the heap may have grown by over the soak, the driver's resolver groups aside. */
    static final long HEAP_TOLERANCE = 8L * 1024 * 1024;

    long undetected() {
        return this.cycles.stream().filter(c -> Double.isNaN(c.detectedSeconds())).count();
    }

    long unsettled() {
        return this.cycles.stream().filter(c -> !c.settled()).count();
    }

    String summary() {
        return (passed() ? "PASSED: " : "FAILED: ") + this.cycles.size() + " cycles in " + ScenarioRunner.fmt(this.loadSeconds) + " s (" + undetected() + " fault(s) not seen, "
            + unsettled() + " cycle(s) not settled); acquired at end " + this.acquiredAtEnd + " (retired pools " + this.retiredAtEnd
            + "); idle in transaction " + this.idleInTransaction + "; sessions before " + this.sessionsBefore + ", after " + this.sessionsAfter
            + "; heap " + JvmCensus.mb(this.heapBefore) + " -> " + JvmCensus.mb(this.heapAfter) + " MB (the driver's " + resolverGroupsGrown()
            + " resolver groups about " + JvmCensus.mb(driverShare()) + " MB of it); instances left " + instancesLeft() + "; threads " + this.threadsBefore + " -> "
            + this.threadsAfter + " " + this.newThreads + "; acknowledged writes " + this.acknowledgedWrites + ", missing on '"
            + this.finalPrimary + "' " + this.missingCount;
    }

    Map<String, Object> json() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("cycles", this.cycles.size());
        json.put("cyclesRequested", this.options.cycles());
        json.put("passed", passed());
        json.put("failures", failures());
        json.put("seed", this.options.seed());
        json.put("machine", ScenarioRunner.machine());
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("readers", Map.of("plain", this.options.plainReaders(), "retryReads", this.options.retryReaders(),
            "inTransactionWithSavepoint", this.options.transactionReaders()));
        settings.put("writers", this.options.writers());
        settings.put("writeEveryMs", this.options.writeEvery().toMillis());
        settings.put("operationTimeoutMs", this.options.operationTimeout().toMillis());
        settings.put("healthIntervalMs", this.options.healthInterval().toMillis());
        settings.put("healthTimeoutMs", this.options.healthTimeout().toMillis());
        settings.put("family", this.options.family().id());
        settings.put("lagBound", this.options.lagBound());
        settings.put("poolMaxSize", this.options.readers());
        settings.put("replication", replication());
        json.put("settings", settings);
        json.put("totalSeconds", this.totalSeconds);
        json.put("loadSeconds", this.loadSeconds);
        json.put("faults", faultTable());
        json.put("load", this.load);
        json.put("events", this.events);
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("acquiredAtEnd", this.acquiredAtEnd);
        checks.put("retiredPoolsAtEnd", this.retiredAtEnd.toString());
        checks.put("retiredPoolConnectionsSeenMax", this.retiredMax);
        checks.put("cyclesWithRetiredPoolConnections", this.cyclesWithRetired);
        checks.put("idleInTransaction", this.idleInTransaction);
        checks.put("sessionsBefore", this.sessionsBefore);
        checks.put("sessionsAfter", this.sessionsAfter);
        checks.put("heapBeforeMb", this.heapBefore / 1048576.0);
        checks.put("heapAfterMb", this.heapAfter / 1048576.0);
        checks.put("heapDeltaMb", heapDelta() / 1048576.0);
        checks.put("driverResolverGroupsGrown", resolverGroupsGrown());
        checks.put("driverShareMb", driverShare() / 1048576.0);
        checks.put("heapDeltaBesidesDriverMb", heapDeltaBesidesDriver() / 1048576.0);
        checks.put("instancesLeft", instancesLeft());
        checks.put("watchedInstancesBefore", this.censusBefore.watchedInstances());
        checks.put("watchedInstancesAfter", this.censusAfter.watchedInstances());
        checks.put("grownMost", this.censusAfter.grownMostSince(this.censusBefore, 10));
        checks.put("threadsBefore", this.threadsBefore);
        checks.put("threadsAfter", this.threadsAfter);
        checks.put("newThreads", this.newThreads);
        checks.put("acknowledgedWrites", this.acknowledgedWrites);
        checks.put("rowsOnFinalPrimary", this.rowsOnPrimary);
        checks.put("finalPrimary", this.finalPrimary);
        checks.put("acknowledgedMissing", this.missingCount);
        checks.put("acknowledgedMissingIds", this.missing);
        json.put("checks", checks);
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (NodeSnapshot node : this.finalNodes) {
            nodes.add(Map.of("name", node.name(), "role", node.role().toString(), "state", node.state().toString(), "writer", node.writer(),
                "acquired", node.acquired(), "idle", node.idle()));
        }
        json.put("finalNodes", nodes);
        List<Map<String, Object>> cycleRows = new ArrayList<>();
        for (Cycle cycle : this.cycles) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("cycle", cycle.index());
            row.put("fault", cycle.fault().id());
            row.put("target", cycle.target());
            row.put("detectedSeconds", cycle.detectedSeconds());
            row.put("settleSeconds", cycle.settleSeconds());
            row.put("totalSeconds", cycle.totalSeconds());
            row.put("settled", cycle.settled());
            cycleRows.add(row);
        }
        json.put("cycleLog", cycleRows);
        return json;
    }

    private List<Map<String, Object>> faultTable() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (SoakFault fault : SoakFault.values()) {
            List<Cycle> of = this.cycles.stream().filter(c -> c.fault() == fault).toList();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("fault", fault.id());
            row.put("description", fault.description(this.options.family()));
            row.put("cycles", of.size());
            row.put("notSeen", of.stream().filter(c -> Double.isNaN(c.detectedSeconds())).count());
            row.put("notSettled", of.stream().filter(c -> !c.settled()).count());
            row.put("detectedP50", percentile(of.stream().mapToDouble(Cycle::detectedSeconds).toArray(), 50));
            row.put("detectedMax", percentile(of.stream().mapToDouble(Cycle::detectedSeconds).toArray(), 100));
            row.put("settleP50", percentile(of.stream().mapToDouble(Cycle::settleSeconds).toArray(), 50));
            row.put("settleMax", percentile(of.stream().mapToDouble(Cycle::settleSeconds).toArray(), 100));
            row.put("cycleP50", percentile(of.stream().mapToDouble(Cycle::totalSeconds).toArray(), 50));
            rows.add(row);
        }
        return rows;
    }

    private static double percentile(double[] values, int p) {
        double[] seen = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
        if (seen.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(p / 100.0 * seen.length) - 1;
        return seen[Math.max(0, Math.min(seen.length - 1, index))];
    }

    @SuppressWarnings("unchecked")
    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("## Soak: ").append(this.cycles.size()).append(" faults\n\n");
        md.append(passed() ? "**Every check passed.**" : "**Failed: " + String.join("; ", failures()) + ".**").append("\n\n");
        md.append(this.options.plainReaders()).append(" readers with `Routing.readOnly()`, ").append(this.options.retryReaders())
            .append(" also with `Routing.retryReads()`, ").append(this.options.transactionReaders())
            .append(" in a transaction with a savepoint, and ").append(this.options.writers()).append(" writers inserting a row every ")
            .append(this.options.writeEvery().toMillis()).append(" ms, each pipeline closed-loop with a ")
            .append(this.options.operationTimeout().toMillis()).append(" ms client timeout; health every ")
            .append(this.options.healthInterval().toMillis()).append(" ms (timeout ").append(this.options.healthTimeout().toMillis())
            .append(" ms, ").append(this.options.lagBound()).append("); pool maxSize ").append(this.options.readers())
            .append(". Faults picked at random (seed ").append(this.options.seed()).append("), one at a time, each undone and the factory ")
            .append("back to every node up in its role before the next. ").append(replication()).append(". ").append(this.cycles.size()).append(" cycles")
            .append(this.cycles.size() < this.options.cycles() ? " (of " + this.options.cycles() + " requested: the time limit came first)" : "")
            .append(" in ").append(ScenarioRunner.fmt(this.loadSeconds)).append(" s.\n\n");
        md.append("| fault | cycles | ejection not seen | not settled | fault -> ejected s, p50 / max | recovery -> settled s, p50 / max | cycle s, p50 |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Map<String, Object> row : faultTable()) {
            md.append("| ").append(row.get("description")).append(" | ").append(row.get("cycles")).append(" | ").append(row.get("notSeen"))
                .append(" | ").append(row.get("notSettled")).append(" | ").append(ScenarioRunner.fmt((Double) row.get("detectedP50")))
                .append(" / ").append(ScenarioRunner.fmt((Double) row.get("detectedMax"))).append(" | ")
                .append(ScenarioRunner.fmt((Double) row.get("settleP50"))).append(" / ").append(ScenarioRunner.fmt((Double) row.get("settleMax")))
                .append(" | ").append(ScenarioRunner.fmt((Double) row.get("cycleP50"))).append(" |\n");
        }
        md.append("\n| load | ok | failed | ok/s |\n|---|---:|---:|---:|\n");
        this.load.forEach((kind, value) -> {
            if (value instanceof Map<?, ?> row && row.containsKey("ok")) {
                md.append("| ").append(kind).append(" | ").append(row.get("ok")).append(" | ").append(row.get("failed")).append(" | ")
                    .append(ScenarioRunner.fmt((Double) row.get("okPerSecond"))).append(" |\n");
            }
        });
        md.append("\nFailures by type: ").append(this.load.get("failedByType")).append(". Events: ").append(this.events).append(".\n\n");
        md.append("| check, after the soak | result |\n|---|---|\n");
        md.append("| connections lent from any pool (current pools + retired pools) | **").append(this.acquiredAtEnd).append("** ")
            .append(this.retiredAtEnd.isEmpty() ? "" : this.retiredAtEnd + " ").append("(retired pools seen holding connections after ")
            .append(this.cyclesWithRetired).append(" cycle(s), at most ").append(this.retiredMax).append(" at once) |\n");
        md.append("| sessions `idle in transaction`, per node | **").append(this.idleInTransaction).append("** |\n");
        md.append("| client sessions per node, before -> after the close | ").append(this.sessionsBefore).append(" -> **")
            .append(this.sessionsAfter).append("** |\n");
        md.append("| used heap after a full GC | ").append(JvmCensus.mb(this.heapBefore)).append(" MB -> ").append(JvmCensus.mb(this.heapAfter))
            .append(" MB (**").append(heapDelta() >= 0 ? "+" : "").append(JvmCensus.mb(heapDelta())).append(" MB**; the driver's ")
            .append(resolverGroupsGrown()).append(" resolver groups, one per connection opened, about ").append(JvmCensus.mb(driverShare()))
            .append(" MB of it; besides them **").append(JvmCensus.mb(heapDeltaBesidesDriver())).append(" MB**) |\n");
        md.append("| live instances of the library's classes, r2dbc-pool's and reactor-pool's, and the driver's connections, more than before ")
            .append("the soak (class histogram after a full GC) | **").append(instancesLeft().isEmpty() ? "none" : instancesLeft().toString())
            .append("** (live after the close: ").append(this.censusAfter.watchedInstances()).append(") |\n");
        md.append("| classes grown most, instances (shallow bytes) | ").append(String.join(", ", this.censusAfter.grownMostSince(this.censusBefore, 6)))
            .append(" |\n");
        md.append("| live threads | ").append(this.threadsBefore).append(" -> ").append(this.threadsAfter).append(", groups grown: **")
            .append(this.newThreads).append("** |\n");
        md.append("| acknowledged writes missing on the final primary ('").append(this.finalPrimary).append("') | **").append(this.missingCount)
            .append("** of ").append(this.acknowledgedWrites).append(" (").append(this.rowsOnPrimary).append(" rows there) |\n");
        return md.toString();
    }
}
