package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Which configured names reach which server, from the {@link ServerIdentity} each node's probe
 * reports: two names for one server are one server (an alias), never a split brain. Only the
 * {@link Cluster} uses it, under its lock.
 *
 * <p>A node's identity is what its last good probe said. A node whose family tells
 * ({@link Dialect#identifies()}) and has not said yet is <em>pending</em>: whether it is another server is not known, so it can neither
 * make a split brain nor an alias. A node of another family, or a server that would not tell,
 * counts as a server of its own, as every node did before identities.
 */
final class ServerIdentities {

    /** What each node's last good probe said; empty when the server would not tell; absent while pending. */
    private final Map<Node, Optional<ServerIdentity>> seen = new HashMap<>();

    /** Pairs of names announced as one server; a pair leaves when both are seen to be different servers. */
    private final Set<Set<String>> announced = new HashSet<>();

    /** Nodes that began to report the primary role, and the event saying so, until it is known whether they are aliases. */
    private final Map<Node, RoutingEvent> mismatches = new LinkedHashMap<>();

    /**
     * A good probe of {@code node} reported {@code identity} ({@code null}: the server would not
     * tell). When the node's server changed (a restart changes the start time), every other node
     * that still holds its old identity goes back to pending: that server is gone or no longer
     * behind this name, and the other names must confirm what they reach with a probe of their own.
     */
    void observed(Node node, @Nullable ServerIdentity identity) {
        Optional<ServerIdentity> now = Optional.ofNullable(identity);
        Optional<ServerIdentity> before = this.seen.put(node, now);
        if (before != null && before.isPresent() && !before.equals(now)) {
            this.seen.entrySet().removeIf(entry -> entry.getKey() != node && entry.getValue().equals(before));
        }
        if (identity != null) {
            for (Map.Entry<Node, Optional<ServerIdentity>> entry : this.seen.entrySet()) {
                if (entry.getValue().isPresent() && !entry.getValue().get().equals(identity)) {
                    this.announced.remove(Set.of(node.name, entry.getKey().name));
                }
            }
        }
    }

    /**
     * {@code node} began to report the primary role ({@code event}): an alias of another node's
     * server is not announced as a role mismatch, its {@code ALIAS_DETECTED} says it all. Held
     * until {@link #dueMismatches} can tell.
     */
    void deferMismatch(Node node, RoutingEvent event) {
        this.mismatches.put(node, event);
    }

    /**
     * The deferred role mismatches that are now known not to be aliases (dropping those that
     * are); none while the claimants are undetermined.
     */
    List<RoutingEvent> dueMismatches(boolean undetermined, Set<Node> aliases) {
        if (this.mismatches.isEmpty()) {
            return List.of();
        }
        List<RoutingEvent> due = new ArrayList<>();
        this.mismatches.entrySet().removeIf(entry -> {
            if (aliases.contains(entry.getKey())) {
                return true;
            }
            if (undetermined) {
                return false;
            }
            due.add(entry.getValue());
            return true;
        });
        return due;
    }

    /** The node is removed: it names no server any more. */
    void forget(Node node) {
        this.mismatches.remove(node);
        this.seen.remove(node);
        this.announced.removeIf(pair -> pair.contains(node.name));
    }

    /** @return what {@code node}'s last good probe said it is, {@code null} when unknown */
    @Nullable
    ServerIdentity identity(Node node) {
        Optional<ServerIdentity> identity = this.seen.get(node);
        return identity == null ? null : identity.orElse(null);
    }

    /** Whether {@code node} will tell which server it is but has not yet. */
    boolean pending(Node node) {
        return node.dialect.identifies() && !this.seen.containsKey(node);
    }

    /**
     * Who takes writes among the nodes that claim the primary role ({@code claimants}, up, in
     * configuration order). Claimants that reach one server count once. One server: it takes
     * writes, through the configured primary's name if that is one of its names, else the name
     * that took writes before, else the first; its other names are aliases. Several servers: a
     * split brain, unless one of the claimants is still pending, in which case the node that took
     * writes before keeps them (or none does) until it has said what it is.
     *
     * @param previousWriter the node that took writes before, {@code null} if none did
     */
    Verdict decide(List<Node> claimants, @Nullable Node previousWriter) {
        List<List<Node>> servers = group(claimants);
        if (servers.isEmpty()) {
            return new Verdict(null, List.of(), servers, false);
        }
        if (servers.size() == 1) {
            return elect(servers.get(0), previousWriter, servers, false);
        }
        for (Node claimant : claimants) {
            if (pending(claimant)) {
                if (previousWriter != null && claimants.contains(previousWriter)) {
                    return elect(serverOf(servers, previousWriter), previousWriter, servers, true);
                }
                return new Verdict(null, List.of(), servers, true);
            }
        }
        return new Verdict(null, List.of(), servers, false);
    }

    private static Verdict elect(List<Node> server, @Nullable Node previousWriter, List<List<Node>> servers, boolean undetermined) {
        Node writer = canonical(server, previousWriter);
        List<Node> aliases = new ArrayList<>(server);
        aliases.remove(writer);
        return new Verdict(writer, aliases, servers, undetermined);
    }

    private static List<Node> serverOf(List<List<Node>> servers, Node node) {
        for (List<Node> server : servers) {
            if (server.contains(node)) {
                return server;
            }
        }
        throw new IllegalStateException("node '" + node.name + "' is in no group of " + servers);
    }

    /**
     * The name a server is known by among {@code names} (non-empty, configuration order): the
     * configured primary's, else {@code preferred}'s, else the first.
     */
    static Node canonical(List<Node> names, @Nullable Node preferred) {
        for (Node node : names) {
            if (node.configuredRole == NodeRole.PRIMARY) {
                return node;
            }
        }
        return preferred != null && names.contains(preferred) ? preferred : names.get(0);
    }

    /**
     * Every node that is another name for the server of an earlier one, mapped to the name the
     * server is known by (see {@link #canonical}); nodes of unknown identity are in no pair.
     */
    Map<Node, Node> aliases(List<Node> nodes, @Nullable Node writer) {
        Map<Node, Node> aliases = new LinkedHashMap<>();
        for (List<Node> server : group(nodes)) {
            if (server.size() > 1) {
                Node canonical = canonical(server, writer);
                for (Node node : server) {
                    if (node != canonical) {
                        aliases.put(node, canonical);
                    }
                }
            }
        }
        return aliases;
    }

    /** Whether the pair was not announced before; from now on it is. */
    boolean announce(Node alias, Node canonical) {
        return this.announced.add(Set.of(alias.name, canonical.name));
    }

    /** The nodes grouped by server, in configuration order; a node of unknown identity is a group of its own. */
    private List<List<Node>> group(List<Node> nodes) {
        Map<Object, List<Node>> servers = new LinkedHashMap<>();
        for (Node node : nodes) {
            ServerIdentity identity = identity(node);
            servers.computeIfAbsent(identity != null ? identity : node, key -> new ArrayList<>()).add(node);
        }
        return new ArrayList<>(servers.values());
    }

    /**
     * @param writer       the node that takes writes, {@code null} for none
     * @param aliases      the writer's other names among the claimants: they serve reads (read-only)
     * @param servers      the claimants grouped by server
     * @param undetermined whether a pending claimant leaves open if there is a split brain
     */
    record Verdict(@Nullable Node writer, List<Node> aliases, List<List<Node>> servers, boolean undetermined) {
    }
}
