package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What the soak and the scenarios read from a cluster of either family for their checks (client
 * sessions, sessions idle in a transaction, the ids of the writes), and the retry they wrap around
 * admin statements. What differs between the families is {@link BenchCluster}'s.
 */
final class SoakCluster {

    private SoakCluster() {
    }

    /**
     * Runs a testkit statement, once more after a failure: on a machine shared with other builds a
     * statement can miss the testkit's 10 s bound, and a soak should not end on a slow admin query.
     */
    static void retrying(Runnable statement) {
        try {
            statement.run();
        } catch (IllegalStateException first) {
            ScenarioRunner.log("soak: retrying after " + first.getMessage());
            statement.run();
        }
    }

    /** Client sessions on every node, by name. */
    static Map<String, Integer> sessionsNow(BenchCluster cluster) {
        Map<String, Integer> sessions = new LinkedHashMap<>();
        for (BenchNode node : cluster.nodes()) {
            sessions.put(node.name(), node.clientSessions());
        }
        return sessions;
    }

    /** Sessions idle in a transaction on every node, by name. */
    static Map<String, Integer> idleInTransaction(BenchCluster cluster) {
        Map<String, Integer> sessions = new LinkedHashMap<>();
        for (BenchNode node : cluster.nodes()) {
            sessions.put(node.name(), cluster.idleInTransaction(node));
        }
        return sessions;
    }

    /** The ids in {@code table} on {@code node}, ascending, read through the driver (a row each). */
    static long[] idsOn(BenchNode node, String table) {
        List<Long> ids = Mono.usingWhen(Mono.from(node.connectionFactory().create()),
                connection -> Flux.from(connection.createStatement("SELECT id FROM " + table + " ORDER BY id").execute())
                    .concatMap(result -> result.map((row, metadata) -> row.get(0, Long.class)))
                    .collectList(),
                Connection::close)
            .block(Duration.ofSeconds(60));
        return ids == null ? new long[0] : ids.stream().mapToLong(Long::longValue).toArray();
    }

    /** The acknowledged ids that are not in {@code present} (ascending). */
    static List<Long> missing(long[] acknowledged, long[] present) {
        List<Long> missing = new java.util.ArrayList<>();
        for (long id : acknowledged) {
            if (java.util.Arrays.binarySearch(present, id) < 0) {
                missing.add(id);
            }
        }
        return missing;
    }
}
