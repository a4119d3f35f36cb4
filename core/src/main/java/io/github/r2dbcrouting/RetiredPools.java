package io.github.r2dbcrouting;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pools taken out of service whose lent connections have not all come back yet, so that
 * {@link RoutingConnectionFactory#retiredPools()} can show connections a node's current pool no
 * longer counts. A pool is forgotten once nothing is lent from it (checked whenever a pool is
 * retired or the list is read), so this holds no pool longer than its connections live.
 */
final class RetiredPools {

    private record Entry(String node, String cause, Instant retiredAt) {
    }

    /** Keyed by identity: a lease does not override equals. */
    private final Map<Node.Lease, Entry> leases = new ConcurrentHashMap<>();

    private final Clock clock;

    RetiredPools(Clock clock) {
        this.clock = clock;
    }

    /** Records {@code lease}, just replaced or removed, and returns it. */
    Node.Lease retire(Node node, Node.Lease lease, String cause) {
        prune();
        this.leases.put(lease, new Entry(node.name, cause, this.clock.instant()));
        return lease;
    }

    /** The retired pools that still have connections lent out, oldest first. */
    List<RetiredPool> snapshot() {
        prune();
        List<RetiredPool> pools = new ArrayList<>();
        this.leases.forEach((lease, entry) -> {
            int acquired = lease.lent();
            if (acquired > 0) {
                pools.add(new RetiredPool(entry.node(), entry.cause(), entry.retiredAt(), acquired));
            }
        });
        pools.sort(Comparator.comparing(RetiredPool::retiredAt));
        return pools;
    }

    private void prune() {
        this.leases.keySet().removeIf(lease -> lease.lent() + lease.waiting() == 0);
    }
}
