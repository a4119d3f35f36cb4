package io.github.r2dbcrouting.testkit;

/** What {@link PostgresCluster.Builder} collected, checked and immutable; {@link #toString()} hides the password. */
record ClusterSettings(int replicas, String database, String username, String password, String image) {

    @Override
    public String toString() {
        return "ClusterSettings[replicas=" + replicas + ", database=" + database + ", username=" + username
                + ", image=" + image + "]";
    }

}
