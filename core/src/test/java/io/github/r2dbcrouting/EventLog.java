package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.r2dbcrouting.testkit.Await;

/** Collects events with the nanoTime they arrived at. */
final class EventLog implements RoutingListener {

    record Seen(RoutingEvent event, long nanos) {
    }

    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(RoutingEvent event) {
        this.seen.add(new Seen(event, System.nanoTime()));
    }

    /**
     * The first event of that type for that node (node null: any) at or after {@code sinceNanos},
     * waiting up to 5 s for it: listeners hear of a change just after {@code nodes()} shows it, so a
     * test that saw the state may look before the event arrived. Fails the test if none comes.
     */
    Seen first(RoutingEvent.Type type, String node, long sinceNanos) {
        Await.until(type + " event for " + (node == null ? "any node" : "'" + node + "'"), Duration.ofSeconds(5),
            () -> seen(type, node, sinceNanos) != null, this::toString);
        return seen(type, node, sinceNanos);
    }

    /** Every event so far, in the order they arrived. */
    List<Seen> all() {
        return List.copyOf(this.seen);
    }

    /** Whether that event has arrived already (no waiting). */
    boolean has(RoutingEvent.Type type, String node, long sinceNanos) {
        return seen(type, node, sinceNanos) != null;
    }

    private Seen seen(RoutingEvent.Type type, String node, long sinceNanos) {
        for (Seen s : this.seen) {
            if (s.event().type() == type && (node == null || node.equals(s.event().node())) && s.nanos() >= sinceNanos) {
                return s;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        for (Seen s : this.seen) {
            text.append("\n  ").append(s.event());
        }
        return text.toString();
    }
}
