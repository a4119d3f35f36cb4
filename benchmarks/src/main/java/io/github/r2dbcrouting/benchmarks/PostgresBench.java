package io.github.r2dbcrouting.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.ConnectionFactory;

/** {@link BenchCluster} over the testkit's {@link PostgresCluster} (streaming replicas). */
final class PostgresBench extends TestkitBench {

    private PostgresBench(PostgresCluster cluster) {
        super(cluster);
    }

    static PostgresBench start(int replicas) {
        return new PostgresBench(PostgresCluster.start(replicas));
    }

    @Override
    public Family family() {
        return Family.POSTGRESQL;
    }

    @Override
    public String portExpression() {
        return "inet_server_port()";
    }

    @Override
    public String createTable(String table) {
        return "CREATE TABLE " + table + " (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text)";
    }

    @Override
    public String insertReturningId(String table, String payload) {
        return "INSERT INTO " + table + (payload == null ? " DEFAULT VALUES" : " (payload) VALUES (" + payload + ")") + " RETURNING id";
    }

    @Override
    public int idleInTransaction(BenchNode node) {
        String count = node.queryString("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            + "AND state LIKE 'idle in transaction%'");
        return count == null ? 0 : Integer.parseInt(count);
    }

    @Override
    public void synchronous() {
        for (BenchNode node : this.nodes) {
            synchronous(node);
        }
    }

    /** A commit on this node, once it is primary, waits until one standby has flushed it. */
    private static void synchronous(BenchNode node) {
        SoakCluster.retrying(() -> node.execute("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'"));
        SoakCluster.retrying(() -> node.execute("SELECT pg_reload_conf()"));
    }

    /** The standby that received the most WAL. */
    @Override
    public BenchNode mostAdvanced(List<BenchNode> standbys) {
        BenchNode best = null;
        long bestLsn = -1;
        for (BenchNode node : standbys) {
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

    /** {@code pg_ctl promote}, synchronous on it, and every other running standby following it (as Patroni does). */
    @Override
    public void promote(BenchNode standby) {
        BenchNode old = this.primary;
        postgres(standby).promote();
        synchronous(standby);
        this.primary = standby;
        for (BenchNode other : this.nodes) {
            if (other != standby && other != old && other.isRunning()) {
                follow(postgres(other), postgres(standby));
            }
        }
    }

    /**
     * Points a standby that did not diverge (it received no more WAL than {@code primary}, the
     * most advanced) at the promoted node, as Patroni does: a slot there, a new
     * {@code primary_conninfo}, a reload; it follows the new timeline by itself
     * ({@code recovery_target_timeline = latest}). Cheaper than a base backup.
     */
    private static void follow(PostgresNode standby, PostgresNode primary) {
        String slot = standby.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        SoakCluster.retrying(() -> primary.execute("SELECT pg_create_physical_replication_slot('" + slot + "', true) WHERE NOT EXISTS "
            + "(SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "')"));
        String conninfo = "host=" + primary.host() + " port=" + primary.port() + " user=" + conninfoValue(primary.username())
            + " password=" + conninfoValue(primary.password()) + " application_name=" + conninfoValue(standby.name());
        SoakCluster.retrying(() -> standby.execute("ALTER SYSTEM SET primary_conninfo = '" + conninfo.replace("'", "''") + "'"));
        SoakCluster.retrying(() -> standby.execute("SELECT pg_reload_conf()"));
    }

    private static String conninfoValue(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** The old primary may have written WAL nobody received: it starts over from a base backup. */
    @Override
    public void rejoin(BenchNode node) {
        postgres(node).rejoinAsReplicaOf(postgres(this.primary));
    }

    @Override
    public ReplayToggle replayToggle() {
        List<ConnectionFactory> replicas = new ArrayList<>();
        for (BenchNode node : this.nodes) {
            if (node != this.primary) {
                replicas.add(node.connectionFactory());
            }
        }
        return new HeldReplayToggle(replicas, "SELECT pg_wal_replay_pause()", "SELECT pg_wal_replay_resume()");
    }


    private static PostgresNode postgres(BenchNode node) {
        return (PostgresNode) ((TestkitNode) node).node();
    }
}
