package io.github.r2dbcrouting.benchmarks;

/**
 * The runner's consistency measurements on one family, on one cluster: read-your-writes under
 * replication paused and resumed every 250 ms ({@link SessionReadLag}, 16 sessions), then the cost
 * of a session write ({@link ConsistencyOverhead}, concurrency 8, 2 rounds).
 */
record ConsistencyResult(Family family, SessionReadLag.Figures readYourWrites, ConsistencyOverhead.Figures cost) {

    static final int SESSIONS = 16;

    static final int TOGGLE_MILLIS = 250;

    static final int COST_CONCURRENCY = 8;

    static final int COST_ROUNDS = 2;

    static ConsistencyResult measure(Family family, int seconds) {
        ScenarioRunner.log("consistency " + family.id() + ": starting a " + family.label + " cluster with 2 replicas");
        try (BenchCluster cluster = family.start(2)) {
            ScenarioRunner.log("consistency " + family.id() + ": read-your-writes with replication paused and resumed every " + TOGGLE_MILLIS
                + " ms");
            SessionReadLag.Figures ryw = SessionReadLag.measure(cluster, seconds, SESSIONS, TOGGLE_MILLIS, 1);
            ScenarioRunner.log("consistency " + family.id() + ":\n" + ryw.markdown());
            ScenarioRunner.log("consistency " + family.id() + ": the cost of a session write");
            ConsistencyOverhead.Figures cost = ConsistencyOverhead.measure(cluster, seconds, COST_CONCURRENCY, COST_ROUNDS);
            ScenarioRunner.log("consistency " + family.id() + ":\n" + cost.markdown());
            return new ConsistencyResult(family, ryw, cost);
        }
    }

    /** Stale reads through a session, both ways a session read can go. */
    long staleThroughSession() {
        return this.readYourWrites.row(SessionReadLag.WAIT).stale() + this.readYourWrites.row(SessionReadLag.AT_ONCE).stale();
    }

    long sessionPairs() {
        return this.readYourWrites.row(SessionReadLag.WAIT).pairs() + this.readYourWrites.row(SessionReadLag.AT_ONCE).pairs();
    }

    String markdown() {
        return "### " + this.family.label + "\n\n" + this.readYourWrites.markdown() + "\n" + this.cost.markdown() + "\n";
    }
}
