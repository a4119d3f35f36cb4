package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Where a read with demands goes, decided from the topology and the nodes' last probes alone (no
 * I/O): a replica in rotation that qualifies, else the closest usable replica to wait on for the
 * session's writes, else the fallback. The demands are a node to avoid (the one a retried read
 * failed on), a lag bound, and a position the read must see.
 */
final class ReadChoice {

    /** What the router does with the choice. */
    enum Kind {
        /** Read on {@link #node}: it qualifies on its last probe. */
        SERVE,
        /** Acquire on {@link #node} and wait there, within {@code sessionWait}, for the position needed. */
        AWAIT,
        /** No replica is usable (or nothing is to be waited for): the fallback serves the read. */
        FALLBACK
    }

    private static final ReadChoice FALLBACK = new ReadChoice(Kind.FALLBACK, null);

    final Kind kind;

    /** The replica for {@link Kind#SERVE} and {@link Kind#AWAIT}; {@code null} for {@link Kind#FALLBACK}. */
    final @Nullable Node node;

    private ReadChoice(Kind kind, @Nullable Node node) {
        this.kind = kind;
        this.node = node;
    }

    /**
     * @param avoid  the node a retried read failed on, or {@code null}
     * @param maxLag the read's staleness bound, or {@code null}
     * @param needed the position the read must see (a session's writes), or {@code null}
     */
    static ReadChoice of(Topology topology, Balancer balancer, @Nullable String avoid, @Nullable Duration maxLag, @Nullable Position needed) {
        List<Node> usable = new ArrayList<>(topology.readers.size());
        List<Node> qualified = new ArrayList<>(topology.readers.size());
        for (Node node : topology.readers) {
            // another name for the writer's server has every write: no lag, nothing to wait for
            boolean current = topology.writerAlias(node);
            if (node.name.equals(avoid) || maxLag != null && !current && !withinLag(node, maxLag)) {
                continue;
            }
            usable.add(node);
            // needed null: no write to wait for, also on a node whose position is unknown (a plain node)
            if (current || needed == null || applied(node, needed)) {
                qualified.add(node);
            }
        }
        if (!qualified.isEmpty()) {
            return new ReadChoice(Kind.SERVE, qualified.get(Suspicion.select(qualified, balancer.select(qualified))));
        }
        if (usable.isEmpty() || needed == null) {
            return FALLBACK;
        }
        // some replicas are usable but not known to have replayed the session's writes
        Node closest = usable.get(0);
        for (Node node : usable) {
            if (closer(node, closest)) {
                closest = node;
            }
        }
        return new ReadChoice(Kind.AWAIT, closest);
    }

    /** Whether {@code node}'s last probe saw it at or past {@code needed}; positions compare themselves, per family. */
    static boolean applied(Node node, Position needed) {
        Position at = node.health.position();
        return at != null && at.family().equals(needed.family()) && at.covers(needed);
    }

    /**
     * Whether {@code node} is a better replica to wait on than {@code other}: one that replicates
     * before one whose last probe saw replication stopped ({@link Dialect#NOT_REPLICATING}), then
     * the one further on.
     */
    private static boolean closer(Node node, Node other) {
        boolean replicating = !Dialect.notReplicating(node.health.lagTime());
        if (replicating != !Dialect.notReplicating(other.health.lagTime())) {
            return replicating;
        }
        return rank(node) > rank(other);
    }

    private static long rank(Node node) {
        Position at = node.health.position();
        return at == null ? -1 : at.rank();
    }

    private static boolean withinLag(Node node, Duration maxLag) {
        Duration lag = node.health.lagTime();
        return lag != null && lag.compareTo(maxLag) <= 0;
    }
}
