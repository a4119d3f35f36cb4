package io.github.r2dbcrouting;

import java.time.Instant;

/**
 * A pool the factory took out of service that still has connections lent out: a node's pool
 * replaced when the node was ejected (so that no connection opened before an outage is handed
 * out after it), or the pool of a removed replica. It is closed already; each connection still
 * lent from it is closed when its holder releases it, and then the pool is forgotten.
 *
 * @param node      the node the pool belonged to
 * @param cause     {@code "ejected"} or {@code "removed"}
 * @param retiredAt when it was taken out of service
 * @param acquired  connections still lent from it
 */
public record RetiredPool(String node, String cause, Instant retiredAt, int acquired) {
}
