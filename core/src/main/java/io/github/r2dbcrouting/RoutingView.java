package io.github.r2dbcrouting;

import java.util.List;

/**
 * A read-only view of a routing factory: its name and what it knows of its nodes. What a
 * {@link RoutingMetricsRecorder} is bound to, so that it can read pool use per node without
 * being able to route, reconfigure or close the factory.
 */
public interface RoutingView {

    /** @return the factory's name, as it appears in logs and metric tags */
    String name();

    /** @return every node, in configuration order, as the router sees it now */
    List<NodeSnapshot> nodes();
}
