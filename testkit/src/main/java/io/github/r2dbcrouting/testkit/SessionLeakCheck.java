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

	private final Map<PostgresNode, Integer> before;

	private SessionLeakCheck(Map<PostgresNode, Integer> before) {
		this.before = before;
	}

	/**
	 * Records the client sessions of every node that answers now (running and not frozen); a node
	 * down now counts as having none.
	 */
	public static SessionLeakCheck before(PostgresCluster cluster) {
		Map<PostgresNode, Integer> sessions = new LinkedHashMap<>();
		for (PostgresNode node : cluster.nodes()) {
			sessions.put(node, node.isRunning() && !node.isFrozen() ? node.clientSessions() : 0);
		}
		return new SessionLeakCheck(sessions);
	}

	/** The count recorded for {@code node}. */
	public int sessionsBefore(PostgresNode node) {
		return this.before.getOrDefault(node, 0);
	}

	/**
	 * Waits until every node that answers (running, not frozen) has at most the sessions it had
	 * before; sessions close asynchronously, hence the wait.
	 *
	 * @throws AssertionError naming the node and both counts when the timeout passes
	 */
	public void assertNoSessionLeft(Duration timeout) {
		this.before.forEach((node, count) -> {
			if (node.isRunning() && !node.isFrozen()) {
				Await.until("client sessions on " + node + " back to " + count, timeout, () -> node.clientSessions() <= count,
						() -> "(now " + node.clientSessions() + ")");
			}
		});
	}
}
