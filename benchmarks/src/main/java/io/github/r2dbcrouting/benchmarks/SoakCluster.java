package io.github.r2dbcrouting.benchmarks;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;

/**
 * What the soak does to its cluster as an operator (or Patroni) would on a failover (every node
 * synchronous, the standby that received the most WAL promoted, the others pointed at it), and
 * what it reads from it for its checks (sessions, sessions idle in a transaction, the writes).
 */
final class SoakCluster {

    private SoakCluster() {
    }

    /** The standby that received the most WAL: it holds every commit the primary acknowledged. */
    static PostgresNode mostAdvanced(List<PostgresNode> standbys) {
        PostgresNode best = null;
        long bestLsn = -1;
        for (PostgresNode node : standbys) {
            String lsn = node.queryString("SELECT (coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) - '0/0'::pg_lsn)::bigint");
            long value = lsn == null ? -1 : Long.parseLong(lsn);
            if (value > bestLsn) {
                best = node;
                bestLsn = value;
            }
        }
        if (best == null) {
            throw new IllegalStateException("no standby to promote among " + standbys);
        }
        return best;
    }

    /**
     * Points a standby that did not diverge (it received no more WAL than {@code primary}, the
     * most advanced) at the promoted node, as Patroni does: a slot there, a new
     * {@code primary_conninfo}, a reload; it follows the new timeline by itself
     * ({@code recovery_target_timeline = latest}). Cheaper than a base backup.
     */
    static void follow(PostgresNode standby, PostgresNode primary) {
        String slot = standby.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        retrying(() -> primary.execute("SELECT pg_create_physical_replication_slot('" + slot + "', true) WHERE NOT EXISTS "
            + "(SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "')"));
        String conninfo = "host=" + primary.host() + " port=" + primary.port() + " user=" + conninfoValue(primary.username())
            + " password=" + conninfoValue(primary.password()) + " application_name=" + conninfoValue(standby.name());
        retrying(() -> standby.execute("ALTER SYSTEM SET primary_conninfo = '" + conninfo.replace("'", "''") + "'"));
        retrying(() -> standby.execute("SELECT pg_reload_conf()"));
    }

    private static String conninfoValue(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** A commit on this node, once it is primary, waits until one standby has flushed it. */
    static void synchronous(PostgresNode node) {
        retrying(() -> node.execute("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'"));
        retrying(() -> node.execute("SELECT pg_reload_conf()"));
    }

    /**
     * Runs a testkit statement, once more after a failure: on a machine shared with other builds a
     * statement can miss the testkit's 10 s bound, and a soak should not end on a slow admin query.
     */
    private static void retrying(Runnable statement) {
        try {
            statement.run();
        } catch (IllegalStateException first) {
            ScenarioRunner.log("soak: retrying after " + first.getMessage());
            statement.run();
        }
    }

    /** Client sessions on every node, by name. */
    static Map<String, Integer> sessionsNow(PostgresCluster cluster) {
        Map<String, Integer> sessions = new LinkedHashMap<>();
        for (PostgresNode node : cluster.nodes()) {
            sessions.put(node.name(), node.clientSessions());
        }
        return sessions;
    }

    /** Sessions idle in a transaction on every node, by name. */
    static Map<String, Integer> idleInTransaction(PostgresCluster cluster) {
        Map<String, Integer> sessions = new LinkedHashMap<>();
        for (PostgresNode node : cluster.nodes()) {
            String count = node.queryString("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                + "AND state LIKE 'idle in transaction%'");
            sessions.put(node.name(), count == null ? 0 : Integer.parseInt(count));
        }
        return sessions;
    }

    /** The ids in {@code soak_writes} on {@code node}, ascending. */
    static long[] idsOn(PostgresNode node) {
        String ids = node.queryString("SELECT string_agg(id::text, ',' ORDER BY id) FROM soak_writes");
        if (ids == null || ids.isEmpty()) {
            return new long[0];
        }
        return Arrays.stream(ids.split(",")).mapToLong(Long::parseLong).toArray();
    }

}
