package io.github.r2dbcrouting.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The report's first table: every measure of the run with one column per family, so that
 * PostgreSQL and MariaDB measured under the same machine load read side by side.
 */
final class SideBySide {

    private SideBySide() {
    }

    static String markdown(ScenarioRunner.Options options, List<ThroughputResult> throughput, List<ScenarioResult> scenarios,
                           List<ConsistencyResult> consistency) {
        List<Family> families = options.families();
        if (throughput.isEmpty() && scenarios.isEmpty() && consistency.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder("## Side by side\n\n| scenario | measure |");
        StringBuilder rule = new StringBuilder("|---|---|");
        for (Family family : families) {
            md.append(' ').append(family.label).append(" |");
            rule.append("---:|");
        }
        md.append('\n').append(rule).append('\n');
        if (!throughput.isEmpty()) {
            throughputRows(md, options.concurrency(), byFamily(families, throughput, ThroughputResult::family));
        }
        for (String id : options.scenarios()) {
            scenarioRows(md, Scenario.of(id), byFamily(families, scenarios.stream().filter(r -> r.id().equals(id)).toList(), r -> r.family));
        }
        if (!consistency.isEmpty()) {
            consistencyRows(md, byFamily(families, consistency, ConsistencyResult::family));
        }
        return md.append('\n').toString();
    }

    /** One result per family, in the order of {@code families}; null for a family without one. */
    private static <T> List<T> byFamily(List<Family> families, List<T> results, Function<T, Family> family) {
        List<T> row = new ArrayList<>();
        for (Family f : families) {
            row.add(results.stream().filter(r -> family.apply(r) == f).findFirst().orElse(null));
        }
        return row;
    }

    private static void throughputRows(StringBuilder md, int pipelines, List<ThroughputResult> results) {
        line(md, "throughput, `SELECT 1` in " + pipelines + " pipelines", "reads/s, bare r2dbc-pool (its defaults) -> replica-1", results,
            t -> String.format(Locale.ROOT, "%.0f", t.readsPerSecond(Throughput.BARE)));
        line(md, "", "reads/s, routing `readOnly()` -> replica-1 only (vs bare)", results, t -> String.format(Locale.ROOT, "%.0f (**%.3fx**)",
            t.readsPerSecond(Throughput.ROUTING_ONE), t.ratioOneReplica()));
        line(md, "", "reads/s, routing `readOnly()` -> both replicas (vs bare)", results, t -> String.format(Locale.ROOT, "%.0f (%.3fx)",
            t.readsPerSecond(Throughput.ROUTING_TWO), t.ratioTwoReplicas()));
        line(md, "", "routing -> replica-1 only / bare, round by round", results, ThroughputResult::roundRatios);
        line(md, "", "failed reads", results, t -> String.valueOf(t.failed()));
    }

    private static void scenarioRows(StringBuilder md, Scenario scenario, List<ScenarioResult> results) {
        String name = scenario.id();
        line(md, name, "fault -> ejection s", results, r -> fmt(r.faultToEjection()));
        line(md, "", "recovery -> readmission s", results, r -> fmt(r.recoveryToReadmission()));
        line(md, "", "failed reads, plain", results, r -> (r.readsFailed - r.retryReadsFailed) + " of " + (r.readsAttempted - r.retryReadsAttempted));
        line(md, "", "failed reads, `retryReads()`", results, r -> r.retryReadsFailed + " of " + r.retryReadsAttempted);
        if (scenario == Scenario.PRIMARY_KILL || scenario == Scenario.PRIMARY_FAILOVER) {
            if (scenario == Scenario.PRIMARY_FAILOVER) {
                line(md, "", "kill + promotion returned, s after the fault", results, r -> fmt(r.marks[1] - r.marks[0]));
                line(md, "", "writes go to the new primary (`PRIMARY_CHANGED`), s after the fault", results,
                    r -> fmt(r.writes.primaryChanged() - r.marks[0]));
            }
            line(md, "", "writes follow: first acknowledged write after the gap, s after the fault", results,
                r -> fmt(r.writes.gapEnd() - r.marks[0]));
            line(md, "", "longest time without an acknowledged write s", results, r -> fmt(r.writes.gap()));
            line(md, "", "writes failed", results, r -> r.writesFailed + " of " + r.writesAttempted);
            line(md, "", "acknowledged writes missing on the final primary", results,
                r -> "**" + r.writes.missing() + "** of " + r.writes.acknowledged() + " (on " + r.writes.finalPrimary() + ")");
        }
        line(md, "", "connections lent afterwards", results, r -> "**" + r.acquiredAtEnd + "**");
    }

    private static void consistencyRows(StringBuilder md, List<ConsistencyResult> results) {
        line(md, "read-your-writes, replication paused/resumed every " + ConsistencyResult.TOGGLE_MILLIS + " ms, "
            + ConsistencyResult.SESSIONS + " sessions", "stale reads through a session (sessionWait 1 s)", results,
            c -> stale(c.readYourWrites().row(SessionReadLag.WAIT)));
        line(md, "", "stale reads through a session (sessionWait 0)", results, c -> stale(c.readYourWrites().row(SessionReadLag.AT_ONCE)));
        line(md, "", "stale reads without a session (control)", results, c -> c.readYourWrites().row(SessionReadLag.CONTROL).stale() + " of "
            + c.readYourWrites().row(SessionReadLag.CONTROL).pairs());
        line(md, "", "session reads on replicas (sessionWait 1 s / 0)", results, c -> percent(c.readYourWrites().row(SessionReadLag.WAIT)) + " / "
            + percent(c.readYourWrites().row(SessionReadLag.AT_ONCE)));
        line(md, "", "session read p99 ms (sessionWait 1 s / 0)", results, c -> fmt(c.readYourWrites().row(SessionReadLag.WAIT).p99Ms()) + " / "
            + fmt(c.readYourWrites().row(SessionReadLag.AT_ONCE).p99Ms()));
        line(md, "", "replication switches", results, c -> c.readYourWrites().toggles() + " in " + fmt(c.readYourWrites().toggledSeconds()) + " s");
        line(md, "session write cost, concurrency " + ConsistencyResult.COST_CONCURRENCY, "writes/s plain", results,
            c -> String.format(Locale.ROOT, "%.0f", c.cost().row("write").opsPerSecond()));
        line(md, "", "writes/s under a session (vs plain)", results, c -> String.format(Locale.ROOT, "%.0f (%.2fx)",
            c.cost().row("write+session").opsPerSecond(), c.cost().ratio("write+session", "write")));
        line(md, "", "writes/s under a session + token (vs plain)", results, c -> String.format(Locale.ROOT, "%.0f (%.2fx)",
            c.cost().row("write+session+token").opsPerSecond(), c.cost().ratio("write+session+token", "write")));
        line(md, "", "statements beyond the INSERT per write: plain / session / session + token", results,
            c -> String.format(Locale.ROOT, "%.3f / %.3f / %.3f", c.cost().row("write").extraPerOperation(),
                c.cost().row("write+session").extraPerOperation(), c.cost().row("write+session+token").extraPerOperation()));
        line(md, "", "of them write-position queries per write (session + token)", results,
            c -> String.format(Locale.ROOT, "%.3f", c.cost().row("write+session+token").positionPerOperation()));
    }

    private static String stale(SessionReadLag.Row row) {
        return "**" + row.stale() + "** of " + row.pairs();
    }

    private static String percent(SessionReadLag.Row row) {
        return String.format(Locale.ROOT, "%.0f%%", 100.0 * row.onReplica() / Math.max(1, row.pairs()));
    }

    private static <T> void line(StringBuilder md, String first, String measure, List<T> results, Function<T, String> value) {
        md.append("| ").append(first).append(" | ").append(measure).append(" |");
        for (T result : results) {
            md.append(' ').append(result == null ? "-" : value.apply(result)).append(" |");
        }
        md.append('\n');
    }

    private static String fmt(double value) {
        return ScenarioRunner.fmt(value);
    }
}
