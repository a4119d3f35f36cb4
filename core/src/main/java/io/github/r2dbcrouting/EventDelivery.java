package io.github.r2dbcrouting;

import java.util.List;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Where every {@link RoutingEvent} goes, in order: one log line, the metrics recorder, then each
 * listener. Runs outside the cluster's lock; a recorder or listener that throws is logged and
 * the others still hear of the event.
 */
final class EventDelivery {

    /** The cluster's logger, as before this class existed: operators filter event lines by it. */
    private static final Logger LOGGER = Loggers.getLogger(Cluster.class);

    private final String name;

    private final RoutingMetricsRecorder metrics;

    private final List<RoutingListener> listeners;

    EventDelivery(String name, RoutingMetricsRecorder metrics, List<RoutingListener> listeners) {
        this.name = name;
        this.metrics = metrics;
        this.listeners = List.copyOf(listeners);
    }

    void deliver(List<RoutingEvent> events) {
        for (RoutingEvent event : events) {
            switch (event.type()) {
                case READMITTED, ADDED, REMOVED -> LOGGER.info(event.message());
                default -> LOGGER.warn(event.message());
            }
            try {
                this.metrics.recordEvent(event);
            } catch (RuntimeException error) {
                LOGGER.warn("[" + this.name + "] the metrics recorder threw on " + event.type() + "; ignored", error);
            }
            for (RoutingListener listener : this.listeners) {
                try {
                    listener.onEvent(event);
                } catch (RuntimeException error) {
                    LOGGER.warn("[" + this.name + "] a RoutingListener threw on " + event.type() + "; ignored", error);
                }
            }
        }
    }
}
