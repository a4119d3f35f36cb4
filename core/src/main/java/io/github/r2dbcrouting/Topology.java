package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jspecify.annotations.Nullable;

/**
 * An immutable snapshot of who serves what, swapped atomically whenever health changes. The
 * hot path reads one volatile field and this object, and nothing else.
 */
final class Topology {

    /** Every node, the configured primary first, then replicas in the order they were added. */
    final List<Node> nodes;

    /** The node that takes writes, {@code null} when none can. */
    final @Nullable Node writer;

    /** Why no node takes writes; {@code null} when {@link #writer} is set. */
    final @Nullable String noWriterReason;

    /** Replicas in rotation, in {@link #nodes} order. */
    final List<Node> readers;

    /**
     * Readers that are other names for the writer's own server: reads on them run in read-only
     * sessions, as on the fallback, so that a write slipped into a read still fails. Usually empty.
     */
    final List<Node> writerAliases;

    /** Each node that is another name for the server of a node, mapped to that node. */
    final Map<Node, Node> aliasOf;

    /** What each node's last good probe said its server is; nodes of unknown identity are absent. */
    final Map<Node, ServerIdentity> servers;

    /** Set once the first read of this snapshot fell back, so that it is announced once. */
    final AtomicBoolean fallbackAnnounced = new AtomicBoolean();

    Topology(List<Node> nodes, @Nullable Node writer, @Nullable String noWriterReason, List<Node> readers) {
        this(nodes, writer, noWriterReason, readers, List.of(), Map.of(), Map.of());
    }

    Topology(List<Node> nodes, @Nullable Node writer, @Nullable String noWriterReason, List<Node> readers, List<Node> writerAliases,
             Map<Node, Node> aliasOf, Map<Node, ServerIdentity> servers) {
        this.nodes = List.copyOf(nodes);
        this.writer = writer;
        this.noWriterReason = noWriterReason;
        this.readers = List.copyOf(readers);
        this.writerAliases = List.copyOf(writerAliases);
        this.aliasOf = Map.copyOf(aliasOf);
        this.servers = Map.copyOf(servers);
    }

    /** The writer, else the first reader: a node to ask what the nodes are; {@code null} when there is none. */
    @Nullable Node anyNode() {
        return this.writer != null ? this.writer : this.readers.isEmpty() ? null : this.readers.get(0);
    }

    /** Whether reads on {@code reader} must run read-only: it is the writer's own server under another name. */
    boolean writerAlias(Node reader) {
        return !this.writerAliases.isEmpty() && this.writerAliases.contains(reader);
    }

    /**
     * Why no replica can serve a read: every replica and the reason it is out.
     */
    String noReaderReason() {
        List<String> parts = new ArrayList<>();
        for (Node node : this.nodes) {
            if (node == this.writer) {
                continue;
            }
            NodeHealth health = node.health;
            if (health.state() == NodeState.REMOVED) {
                continue;
            }
            parts.add("'" + node.name + "' is " + health.state().name().toLowerCase(java.util.Locale.ROOT)
                + (health.reason() != null ? ": " + health.reason() : ""));
        }
        if (parts.isEmpty()) {
            return "no healthy replica: no replica is configured";
        }
        return "no healthy replica: " + String.join("; ", parts);
    }
}
