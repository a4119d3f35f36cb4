package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Derives a {@link Topology} from the nodes' health: who takes writes, who serves reads, which
 * names are aliases of one server, and why no node takes writes; and the events the change from
 * the last topology implies (primary changed, split brain, alias detected, a role mismatch held
 * back until the server was known). {@link Cluster} owns it and calls it under its lock; it keeps
 * only what it announced, so that each split brain and alias is said once.
 */
final class TopologyMaker {

    /** Makes an event about a node, as the cluster words and stamps them. */
    interface Events {
        RoutingEvent event(RoutingEvent.Type type, @Nullable Node node, RoutingEvent.Cause cause, String message);
    }

    /** Which names reach which server; shared with the cluster, under its lock. */
    private final ServerIdentities identities;

    private final Events events;

    /** The names of the split-brain claimants last announced. */
    private @Nullable String announcedSplitBrain;

    TopologyMaker(ServerIdentities identities, Events events) {
        this.identities = identities;
        this.events = events;
    }

    /**
     * The topology of {@code nodes} now, adding to {@code events} what changed since {@code old}.
     *
     * @param nodes  the nodes in configuration order
     * @param old    the topology published before, {@code null} for the first
     * @param events where the implied events go
     */
    Topology next(List<Node> nodes, @Nullable Topology old, List<RoutingEvent> events) {
        Node oldWriter = old != null ? old.writer : null;
        Topology next = compute(nodes, events, oldWriter);
        if (old != null && oldWriter != next.writer) {
            String message = next.writer != null
                ? "writes now go to '" + next.writer.name + "'" + (oldWriter != null ? " (was '" + oldWriter.name + "')" : "")
                : "no node takes writes: " + next.noWriterReason;
            events.add(this.events.event(RoutingEvent.Type.PRIMARY_CHANGED, next.writer, RoutingEvent.Cause.TOPOLOGY, message));
        }
        return next;
    }

    /**
     * Who takes writes and who serves reads. Nodes that claim the primary role and reach one
     * server (see {@link ServerIdentities}) are one primary: the writer, and aliases that serve
     * reads. Claimants on different servers are a split brain.
     */
    private Topology compute(List<Node> nodes, List<RoutingEvent> events, @Nullable Node previousWriter) {
        List<Node> claimants = new ArrayList<>();
        for (Node node : nodes) {
            if (node.health.up() && node.effectiveRole() == NodeRole.PRIMARY) {
                claimants.add(node);
            }
        }
        ServerIdentities.Verdict verdict = this.identities.decide(claimants, previousWriter);
        List<Node> readers = new ArrayList<>();
        for (Node node : nodes) {
            if (node.health.up() && node.readable && (!claimants.contains(node) || verdict.aliases().contains(node))) {
                readers.add(node);
            }
        }
        Map<Node, Node> aliasOf = this.identities.aliases(nodes, verdict.writer());
        events.addAll(this.identities.dueMismatches(verdict.undetermined(), aliasOf.keySet()));
        Node writer = verdict.writer();
        String noWriter = null;
        if (writer == null && claimants.isEmpty()) {
            noWriter = noWriterReason(nodes);
            this.announcedSplitBrain = null;
        } else if (writer == null && verdict.undetermined()) {
            noWriter = "primary undetermined: " + claimantNames(verdict.servers()) + " report they are primary and not all have said yet "
                + "which server they are; writes go to none until they have";
        } else if (writer == null) {
            noWriter = "split brain: " + claimantNames(verdict.servers()) + " all report they are primary; writes go to none until one steps down";
            if (!noWriter.equals(this.announcedSplitBrain)) {
                this.announcedSplitBrain = noWriter;
                events.add(this.events.event(RoutingEvent.Type.SPLIT_BRAIN, null, RoutingEvent.Cause.ROLE, noWriter));
            }
        } else if (!verdict.undetermined()) {
            this.announcedSplitBrain = null;
        }
        Map<Node, ServerIdentity> servers = new HashMap<>();
        for (Node node : nodes) {
            ServerIdentity identity = this.identities.identity(node);
            if (identity != null) {
                servers.put(node, identity);
            }
        }
        for (Map.Entry<Node, Node> alias : aliasOf.entrySet()) {
            if (this.identities.announce(alias.getKey(), alias.getValue())) {
                events.add(this.events.event(RoutingEvent.Type.ALIAS_DETECTED, alias.getKey(), RoutingEvent.Cause.TOPOLOGY,
                    aliasMessage(alias.getKey(), alias.getValue(), servers.get(alias.getKey()), writer)));
            }
        }
        return new Topology(nodes, writer, noWriter, readers, verdict.aliases(), aliasOf, servers);
    }

    private static String aliasMessage(Node alias, Node canonical, @Nullable ServerIdentity server, @Nullable Node writer) {
        String text = "node '" + alias.name + "' is another name for the server of '" + canonical.name + "' (server " + server
            + "): one server, not two";
        if (canonical == writer) {
            text += "; writes stay on '" + canonical.name + "', reads may use '" + alias.name + "' (read-only sessions)";
        }
        return text;
    }

    /** {@code 'primary' (also 'replica-2') and 'replica-1'}: one entry per server, its other names in parentheses. */
    private static String claimantNames(List<List<Node>> servers) {
        List<String> names = new ArrayList<>();
        for (List<Node> server : servers) {
            String text = "'" + server.get(0).name + "'";
            if (server.size() > 1) {
                List<String> others = new ArrayList<>();
                for (Node other : server.subList(1, server.size())) {
                    others.add("'" + other.name + "'");
                }
                text += " (also " + String.join(", ", others) + ")";
            }
            names.add(text);
        }
        return String.join(" and ", names);
    }

    private static String noWriterReason(List<Node> nodes) {
        List<String> parts = new ArrayList<>();
        boolean configured = false;
        for (Node node : nodes) {
            configured |= node.configuredRole == NodeRole.PRIMARY;
        }
        for (Node node : nodes) {
            // without a configured primary (a topology source), every node says why it is not the writer
            if (!configured || node.configuredRole == NodeRole.PRIMARY || node.effectiveRole() == NodeRole.PRIMARY) {
                NodeHealth health = node.health;
                if (!health.up()) {
                    parts.add("'" + node.name + "' is " + lower(health.state()) + (health.reason() != null ? ": " + health.reason() : ""));
                } else {
                    parts.add("'" + node.name + "' reports it is " + lower(node.effectiveRole()));
                }
            }
        }
        return "primary unavailable: " + (parts.isEmpty() ? (nodes.isEmpty() ? "no node is known yet" : "no node reports it is primary")
            : String.join("; ", parts));
    }


    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
