package io.github.r2dbcrouting.testkit;

import java.util.List;
import java.util.function.Function;

/**
 * A cluster's nodes, the one started as the primary first: what {@link PostgresCluster} and
 * {@link MariaDbCluster} answer for {@code primary()}, {@code replicas()}, {@code nodes()} and
 * {@code node(name)}.
 *
 * @param <N> the node type
 */
final class NodeList<N> {

    private final List<N> nodes;

    private final Function<N, String> names;

    NodeList(List<N> nodes, Function<N, String> names) {
        this.nodes = List.copyOf(nodes);
        this.names = names;
    }

    N primary() {
        return this.nodes.get(0);
    }

    List<N> replicas() {
        return this.nodes.subList(1, this.nodes.size());
    }

    List<N> all() {
        return this.nodes;
    }

    /** @throws IllegalArgumentException naming the unknown name and the known ones */
    N named(String name) {
        return named(this.nodes, this.names, name, "node", "this cluster");
    }

    /**
     * The node of {@code nodes} called {@code name}.
     * @param kind what a node is called in the message ({@code node}, {@code member})
     * @param where where it was looked for, in the message
     * @throws IllegalArgumentException naming the unknown name and the known ones
     */
    static <N> N named(List<N> nodes, Function<N, String> names, String name, String kind, String where) {
        for (N node : nodes) {
            if (names.apply(node).equals(name)) {
                return node;
            }
        }
        throw new IllegalArgumentException("no " + kind + " named '" + name + "' in " + where + "; " + kind + "s are "
                + nodes.stream().map(names).toList());
    }

    /**
     * {@code other} as a node of {@code node}'s family, for a {@code rejoinAsReplicaOf(DatabaseNode)}.
     * @throws IllegalArgumentException when it is of another family
     */
    static <N extends DatabaseNode> N sameFamily(DatabaseNode node, DatabaseNode other, Class<N> family) {
        if (!family.isInstance(other)) {
            throw new IllegalArgumentException("node '" + node.name() + "' can only rejoin as a replica of a node of its own cluster, not of "
                    + other);
        }
        return family.cast(other);
    }

    @Override
    public String toString() {
        return this.nodes.toString();
    }

}
