package io.github.r2dbcrouting.topology;

import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * One reading of Patroni's {@code GET /cluster}: the members sorted by name (as Patroni sorts
 * them), whether the cluster is paused (maintenance mode), and which URL answered.
 *
 * @param members   every member Patroni knows, in any state
 * @param paused    Patroni's maintenance mode: it does not fail over now
 * @param sourceUrl the REST URL that answered, without credentials
 */
record PatroniClusterState(List<PatroniMember> members, boolean paused, String sourceUrl) {

    PatroniClusterState {
        members = List.copyOf(members);
    }

    /** The member holding the leader key (of a normal or a standby cluster) in whatever state, or null. */
    @Nullable PatroniMember leader() {
        for (PatroniMember member : members) {
            if (member.role() == PatroniRole.LEADER || member.role() == PatroniRole.STANDBY_LEADER) {
                return member;
            }
        }
        return null;
    }

    /** The member that should take writes ({@link PatroniMember#takesWrites()}), or null. */
    @Nullable PatroniMember writer() {
        PatroniMember leader = leader();
        return leader != null && leader.takesWrites() ? leader : null;
    }

    /** The members that should take reads ({@link PatroniMember#takesReads()}). */
    List<PatroniMember> readers() {
        return members.stream().filter(PatroniMember::takesReads).toList();
    }

    /** @throws IllegalArgumentException naming the unknown name */
    PatroniMember member(String name) {
        for (PatroniMember member : members) {
            if (member.name().equals(name)) {
                return member;
            }
        }
        throw new IllegalArgumentException("no member named '" + name + "' in " + members);
    }

}
