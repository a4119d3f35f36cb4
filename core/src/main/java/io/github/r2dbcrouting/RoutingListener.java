package io.github.r2dbcrouting;

/**
 * Receives {@link RoutingEvent}s. Called on the thread that noticed the change (a probe's or a
 * failed acquisition's), outside any lock: keep it quick and never block. An exception thrown
 * by a listener is logged and does not reach the router.
 */
@FunctionalInterface
public interface RoutingListener {

    /**
     * @param event what changed
     */
    void onEvent(RoutingEvent event);
}
