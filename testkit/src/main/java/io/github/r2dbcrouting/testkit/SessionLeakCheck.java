package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Proves a test left no server-side session behind: records each node's client sessions before,
 * and afterwards waits until every reachable node is back to at most that many.
 *
 * <pre>{@code
 * SessionLeakCheck leaks = SessionLeakCheck.before(cluster);
 * ... use and close a connection pool ...
 * leaks.assertNoSessionLeft(Duration.ofSeconds(15));
 * }</pre>
 */
public final class SessionLeakCheck {

    /** Per node (a {@link PostgresNode} or a {@link MariaDbNode}): its sessions before. */
    private final Map<Object, Integer> before;

    private SessionLeakCheck(Map<Object, Integer> before) {
        this.before = before;
    }

    /**
     * Records the client sessions of every node that answers now (running and not frozen); a node
     * down now counts as having none.
     */
    public static SessionLeakCheck before(PostgresCluster cluster) {
        Map<Object, Integer> sessions = new LinkedHashMap<>();
        for (PostgresNode node : cluster.nodes()) {
            sessions.put(node, answers(node) ? sessions(node) : 0);
        }
        return new SessionLeakCheck(sessions);
    }

    /** Like {@link #before(PostgresCluster)}, for a MariaDB cluster (see {@link MariaDbNode#clientSessions()}). */
    public static SessionLeakCheck before(MariaDbCluster cluster) {
        Map<Object, Integer> sessions = new LinkedHashMap<>();
        for (MariaDbNode node : cluster.nodes()) {
            sessions.put(node, answers(node) ? sessions(node) : 0);
        }
        return new SessionLeakCheck(sessions);
    }

    /** The count recorded for {@code node}. */
    public int sessionsBefore(PostgresNode node) {
        return this.before.getOrDefault(node, 0);
    }

    /** The count recorded for {@code node}. */
    public int sessionsBefore(MariaDbNode node) {
        return this.before.getOrDefault(node, 0);
    }

    private static boolean answers(Object node) {
        return node instanceof MariaDbNode mariadb ? mariadb.isRunning() && !mariadb.isFrozen()
                : ((PostgresNode) node).isRunning() && !((PostgresNode) node).isFrozen();
    }

    private static int sessions(Object node) {
        return node instanceof MariaDbNode mariadb ? mariadb.clientSessions() : ((PostgresNode) node).clientSessions();
    }

    /**
     * Waits until every node that answers (running, not frozen) has at most the sessions it had
     * before; sessions close asynchronously, hence the wait.
     *
     * @throws AssertionError naming the node and both counts when the timeout passes
     */
    public void assertNoSessionLeft(Duration timeout) {
        this.before.forEach((node, count) -> {
            if (answers(node)) {
                Await.until("client sessions on " + node + " back to " + count, timeout, () -> sessions(node) <= count,
                        () -> "(now " + sessions(node) + ")");
            }
        });
    }
}
