package io.github.r2dbcrouting.testkit;

import java.util.List;
import java.util.stream.IntStream;

/** What {@link PostgresCluster.Builder} collected, checked and immutable; {@link #toString()} hides the password. */
record ClusterSettings(int replicas, String database, String username, String password, String image) {

    /** {@code replica-1}, {@code replica-2}, …: the names of the replicas to start. */
    List<String> replicaNames() {
        return IntStream.rangeClosed(1, replicas).mapToObj(i -> "replica-" + i).toList();
    }

    @Override
    public String toString() {
        return "ClusterSettings[replicas=" + replicas + ", database=" + database + ", username=" + username
                + ", image=" + image + "]";
    }

}
