package io.github.r2dbcrouting;

import java.time.Instant;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * Something that changed in the router's view of its nodes. Events are emitted once per change,
 * never once per request, to every {@link RoutingListener} and to the log.
 */
public final class RoutingEvent {

    /** What happened. */
    public enum Type {
        /** A node left rotation; {@link #cause()} says why. */
        EJECTED,
        /** A node came back into rotation. */
        READMITTED,
        /** Reads found no replica in rotation and went to the fallback (announced once per outage). */
        FALLBACK_USED,
        /** A node reported a role other than the one it was configured or expected in. */
        ROLE_MISMATCH,
        /** Writes now go to another node (a failover was followed), or to none. */
        PRIMARY_CHANGED,
        /** Two or more nodes claim to be primary; writes go to none of them. */
        SPLIT_BRAIN,
        /**
         * A node turned out to be another name for the server of another node (same server
         * identity): the two count as one server, never as a split brain. Announced once per pair.
         */
        ALIAS_DETECTED,
        /** A replica was added at run time. */
        ADDED,
        /** A replica was removed at run time. */
        REMOVED,
        /**
         * What a {@link TopologySource} said was not followed, or the source failed: the leader
         * it names is in recovery, no member is a primary after start-up, or it does not answer.
         */
        SOURCE
    }

    /** Why a node left or came back. */
    public enum Cause {
        /** Active probes failed (or succeeded, for a readmission). */
        PROBE,
        /** Acquiring a connection from the node failed. */
        ACQUISITION,
        /** Replication lag passed (or came back under) the configured bound. */
        LAG,
        /** The node is in the wrong role. */
        ROLE,
        /** Not about one node's health. */
        TOPOLOGY
    }

    private final Type type;
    private final @Nullable String node;
    private final Cause cause;
    private final String message;
    private final Instant time;

    RoutingEvent(Type type, @Nullable String node, Cause cause, String message, Instant time) {
        this.type = type;
        this.node = node;
        this.cause = cause;
        this.message = message;
        this.time = time;
    }

    /** @return what happened */
    public Type type() {
        return this.type;
    }

    /** @return the node it happened to, {@code null} for events about no single node */
    public @Nullable String node() {
        return this.node;
    }

    /** @return why */
    public Cause cause() {
        return this.cause;
    }

    /** @return a sentence for an operator, naming the node and the reason */
    public String message() {
        return this.message;
    }

    /** @return when it happened, by the factory's clock */
    public Instant time() {
        return this.time;
    }

    @Override
    public String toString() {
        return "RoutingEvent{" + this.type + (this.node != null ? " '" + this.node + "'" : "") + " (" + this.cause + "): " + this.message + "}";
    }

    @Override
    public boolean equals(@Nullable Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof RoutingEvent)) {
            return false;
        }
        RoutingEvent that = (RoutingEvent) other;
        return this.type == that.type && Objects.equals(this.node, that.node) && this.cause == that.cause
            && this.message.equals(that.message) && this.time.equals(that.time);
    }

    @Override
    public int hashCode() {
        return Objects.hash(this.type, this.node, this.cause, this.message, this.time);
    }
}
