package io.github.r2dbcrouting.benchmarks;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The throughput comparison on one family ({@link Throughput}): {@code json} is what
 * {@code throughput-<family>.json} holds; the accessors read the figures the report shows.
 */
record ThroughputResult(Family family, Map<String, Object> json) {

    /** Routing to replica-1 alone / the bare pool to replica-1, over all rounds. */
    double ratioOneReplica() {
        return (Double) this.json.get("ratioOneReplica");
    }

    /** Routing to both replicas / the bare pool to replica-1, over all rounds. */
    double ratioTwoReplicas() {
        return (Double) this.json.get("ratioTwoReplicas");
    }

    /** Reads per second of {@code factory} ({@link Throughput#BARE}, …) over all rounds. */
    double readsPerSecond(String factory) {
        return (Double) row(factory).get("readsPerSecond");
    }

    /** Failed reads of every factory. */
    long failed() {
        return rows().stream().mapToLong(row -> (Long) row.get("failed")).sum();
    }

    /** Each round's routing-to-replica-1 / bare ratio, in order: {@code 0.981, 1.012}. */
    @SuppressWarnings("unchecked")
    String roundRatios() {
        return ((List<Map<String, Object>>) this.json.get("perRound")).stream()
            .map(round -> String.format(Locale.ROOT, "%.3f", (Double) round.get("ratioOneReplica")))
            .collect(Collectors.joining(", "));
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> rows() {
        return (List<Map<String, Object>>) this.json.get("results");
    }

    private Map<String, Object> row(String factory) {
        return rows().stream().filter(row -> factory.equals(row.get("factory"))).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no row '" + factory + "' in " + this.json.get("results")));
    }

    /** The report's throughput section: what ran, then one table and ratio per family. */
    static String markdown(List<ThroughputResult> results) {
        if (results.isEmpty()) {
            return "";
        }
        Map<String, Object> first = results.get(0).json;
        StringBuilder md = new StringBuilder("## End-to-end throughput\n\n");
        md.append("`SELECT 1` in ").append(first.get("concurrency")).append(" closed-loop pipelines, pool maxSize ")
            .append(first.get("poolMaxSize")).append(" per node, ").append(first.get("rounds")).append(" round(s) of ")
            .append(first.get("secondsPerRound")).append(" s per factory (order A B C, then C B A), after 2 s of warm-up each, ")
            .append("on a fresh cluster per family. Bare pool: r2dbc-pool's own defaults over the family's driver factory. Routing: ")
            .append(first.get("routingSettings")).append(".\n\n");
        md.append("| family | factory | reads | failed | reads/s | p50 ms | p99 ms | max ms |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (ThroughputResult result : results) {
            for (Map<String, Object> row : result.rows()) {
                md.append("| ").append(result.family.label).append(" | ").append(row.get("factory")).append(" | ").append(row.get("reads"))
                    .append(" | ").append(row.get("failed")).append(" | ").append(ScenarioRunner.fmt((Double) row.get("readsPerSecond")))
                    .append(" | ").append(ScenarioRunner.fmt((Double) row.get("p50Ms"))).append(" | ")
                    .append(ScenarioRunner.fmt((Double) row.get("p99Ms"))).append(" | ").append(ScenarioRunner.fmt((Double) row.get("maxMs")))
                    .append(" |\n");
            }
        }
        md.append('\n');
        for (ThroughputResult result : results) {
            md.append(String.format(Locale.ROOT, "- %s: routing / bare, same single replica behind both (the routing overhead): **%.3f** "
                    + "(target >= 0.97; round by round %s). With reads spread over both replicas: %.3f (more servers, not less overhead; "
                    + "all servers share this machine's cores).\n", result.family.label, result.ratioOneReplica(), result.roundRatios(),
                result.ratioTwoReplicas()));
        }
        return md.append('\n').toString();
    }
}
