package io.github.r2dbcrouting;

import java.time.Duration;

/**
 * Receives the router's measurements. The default records nothing; a Micrometer one ships in
 * {@code io.github.r2dbcrouting.micrometer} for applications that have Micrometer.
 *
 * <p>{@link #recordRouted} runs on every acquisition: implementations must be lock-free, must
 * not block, and should not allocate.
 */
public interface RoutingMetricsRecorder {

    /**
     * Called once when the factory is built, so that gauges (pool use per node) can be
     * registered against it.
     *
     * @param factory a read-only view of the factory whose measurements follow: its name and nodes
     */
    default void bind(RoutingView factory) {
    }

    /**
     * Called once when the factory has closed, so that gauges registered in {@link #bind} can
     * be removed.
     *
     * @param factory the view {@link #bind} was given, of the closed factory
     */
    default void unbind(RoutingView factory) {
    }

    /**
     * A connection was routed to a node (before the pool answers).
     *
     * @param node     the node's name
     * @param readOnly whether the pipeline asked for a replica
     */
    void recordRouted(String node, boolean readOnly);

    /**
     * A read found no replica and went to the fallback.
     *
     * @param fallback what it got
     */
    void recordFallback(Fallback fallback);

    /**
     * A probe finished.
     *
     * @param node    the node's name
     * @param latency how long it took
     * @param success whether it answered
     */
    void recordProbe(String node, Duration latency, boolean success);

    /**
     * Something changed (ejection, readmission, failover...).
     *
     * @param event what changed
     */
    void recordEvent(RoutingEvent event);

    /**
     * The recorder that records nothing.
     *
     * @return the no-op recorder
     */
    static RoutingMetricsRecorder noop() {
        return NoOpMetricsRecorder.INSTANCE;
    }
}
