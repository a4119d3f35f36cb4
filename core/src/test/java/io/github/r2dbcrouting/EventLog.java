package io.github.r2dbcrouting;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Collects events with the nanoTime they arrived at. */
final class EventLog implements RoutingListener {

    record Seen(RoutingEvent event, long nanos) {
    }

    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(RoutingEvent event) {
        this.seen.add(new Seen(event, System.nanoTime()));
    }

    /** The first event of that type for that node (node null: any) at or after {@code sinceNanos}. */
    Seen first(RoutingEvent.Type type, String node, long sinceNanos) {
        for (Seen s : this.seen) {
            if (s.event().type() == type && (node == null || node.equals(s.event().node())) && s.nanos() >= sinceNanos) {
                return s;
            }
        }
        return null;
    }

    boolean has(RoutingEvent.Type type, String node, long sinceNanos) {
        return first(type, node, sinceNanos) != null;
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
