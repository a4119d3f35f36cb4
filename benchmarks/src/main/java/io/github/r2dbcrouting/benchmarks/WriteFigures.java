package io.github.r2dbcrouting.benchmarks;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.r2dbcrouting.RoutingEvent;

/**
 * What a scenario's writers saw of the fault: the longest time without an acknowledged write
 * around it, when writes came back, when the factory announced a new primary, and whether every
 * acknowledged write is on the cluster's primary at the end. Times in seconds since the load started.
 *
 * @param acknowledged     writes the server acknowledged (their ids kept)
 * @param missing          of those, ids not on the final primary
 * @param missingIds       up to 20 of them
 * @param gapStart         the last acknowledged write before the longest gap (from the fault to the recovery)
 * @param gapEnd           the first after it: writes follow
 * @param primaryChanged   the first {@code PRIMARY_CHANGED} event naming a node after the fault (writes go there), NaN for none
 * @param finalPrimary     the node the check read
 * @param writeSql         the writers' statement
 */
record WriteFigures(int acknowledged, int missing, List<Long> missingIds, double gapStart, double gapEnd, double primaryChanged,
                    String finalPrimary, String writeSql) {

    /**
     * @param ackedAt  completion times of the acknowledged writes (nanoTime), ascending
     * @param origin   nanoTime of the load's start
     * @param marks    fault start, fault injected, recovery start, recovered (seconds)
     */
    static WriteFigures of(long[] acked, long[] present, long[] ackedAt, long origin, double[] marks, List<ScenarioRunner.Event> events,
                           String finalPrimary, String writeSql) {
        List<Long> missing = SoakCluster.missing(acked, present);
        double gapStart = Double.NaN;
        double gapEnd = Double.NaN;
        double longest = -1;
        for (int i = 0; i + 1 < ackedAt.length; i++) {
            double from = (ackedAt[i] - origin) / 1e9;
            double to = (ackedAt[i + 1] - origin) / 1e9;
            if (to >= marks[0] && from <= marks[2] && to - from > longest) {
                longest = to - from;
                gapStart = from;
                gapEnd = to;
            }
        }
        double changed = Double.NaN;
        for (ScenarioRunner.Event event : events) {
            // "writes now go to 'x'" (not "no node takes writes", which has no node)
            if (event.event().type() == RoutingEvent.Type.PRIMARY_CHANGED && event.event().node() != null && event.seconds() >= marks[0]) {
                changed = event.seconds();
                break;
            }
        }
        return new WriteFigures(acked.length, missing.size(), List.copyOf(missing.subList(0, Math.min(20, missing.size()))), gapStart, gapEnd,
            changed, finalPrimary, writeSql);
    }

    /** Seconds without an acknowledged write around the fault. */
    double gap() {
        return this.gapEnd - this.gapStart;
    }

    Map<String, Object> json(double[] marks) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("statement", this.writeSql);
        json.put("acknowledged", this.acknowledged);
        json.put("acknowledgedMissingOnFinalPrimary", this.missing);
        json.put("missingIds", this.missingIds);
        json.put("finalPrimary", this.finalPrimary);
        json.put("longestGapSeconds", gap());
        json.put("lastBeforeGapAt", this.gapStart);
        json.put("firstAfterGapAt", this.gapEnd);
        json.put("firstAfterGapSinceFaultInjectedSeconds", this.gapEnd - marks[1]);
        json.put("primaryChangedAt", Double.isNaN(this.primaryChanged) ? null : this.primaryChanged);
        return json;
    }
}
