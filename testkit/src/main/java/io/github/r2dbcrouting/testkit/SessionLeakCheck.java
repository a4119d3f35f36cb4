package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

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

    /** Per node (a {@link PostgresNode}, a {@link MariaDbNode} or a {@link PatroniMember}): its sessions before. */
    private final List<Watched<?>> watched;

    private SessionLeakCheck(List<Watched<?>> watched) {
        this.watched = watched;
    }

    /**
     * Records the client sessions of every node that answers now (running and not frozen); a node
     * down now counts as having none.
     */
    public static SessionLeakCheck before(PostgresCluster cluster) {
        return before(cluster.nodes(), node -> node.isRunning() && !node.isFrozen(), PostgresNode::clientSessions);
    }

    /** Like {@link #before(PostgresCluster)}, for a MariaDB cluster (see {@link MariaDbNode#clientSessions()}). */
    public static SessionLeakCheck before(MariaDbCluster cluster) {
        return before(cluster.nodes(), node -> node.isRunning() && !node.isFrozen(), MariaDbNode::clientSessions);
    }

    /**
     * Like {@link #before(PostgresCluster)}, for a Patroni cluster (see
     * {@link PatroniMember#clientSessions()}): a member answers when its PostgreSQL takes a query now.
     */
    public static SessionLeakCheck before(PatroniCluster cluster) {
        return before(cluster.members(), PatroniMember::answers, PatroniMember::clientSessions);
    }

    private static <N> SessionLeakCheck before(List<N> nodes, Predicate<N> answers, ToIntFunction<N> sessions) {
        List<Watched<?>> watched = new ArrayList<>();
        for (N node : nodes) {
            watched.add(new Watched<>(node, answers.test(node) ? sessions.applyAsInt(node) : 0, answers, sessions));
        }
        return new SessionLeakCheck(List.copyOf(watched));
    }

    /** The count recorded for {@code node}. */
    public int sessionsBefore(PostgresNode node) {
        return sessionsOf(node);
    }

    /** The count recorded for {@code node}. */
    public int sessionsBefore(MariaDbNode node) {
        return sessionsOf(node);
    }

    /** The count recorded for {@code member}. */
    public int sessionsBefore(PatroniMember member) {
        return sessionsOf(member);
    }

    private int sessionsOf(Object node) {
        for (Watched<?> entry : this.watched) {
            if (entry.node().equals(node)) {
                return entry.before();
            }
        }
        return 0;
    }

    /**
     * Waits until every node that answers (running, not frozen) has at most the sessions it had
     * before; sessions close asynchronously, hence the wait. A node that stops answering meanwhile
     * has none left.
     *
     * @throws AssertionError naming the node and both counts when the timeout passes
     */
    public void assertNoSessionLeft(Duration timeout) {
        for (Watched<?> entry : this.watched) {
            entry.awaitBack(timeout);
        }
    }

    private record Watched<N>(N node, int before, Predicate<N> answers, ToIntFunction<N> sessions) {

        void awaitBack(Duration timeout) {
            if (this.answers.test(this.node)) {
                Await.until("client sessions on " + this.node + " back to " + this.before, timeout, this::back,
                        () -> "(now " + now() + ")");
            }
        }

        private boolean back() {
            try {
                return this.sessions.applyAsInt(this.node) <= this.before;
            }
            catch (IllegalStateException ex) {
                // the server went away between the two questions: no session of it survives that
                return !this.answers.test(this.node);
            }
        }

        private String now() {
            try {
                return Integer.toString(this.sessions.applyAsInt(this.node));
            }
            catch (IllegalStateException ex) {
                return "unknown: " + ex.getMessage();
            }
        }

    }
}
