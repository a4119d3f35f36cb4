package io.github.r2dbcrouting;

import java.util.List;
import java.util.Map;

/**
 * Picks the replica that serves a read, among the replicas in rotation.
 *
 * <p>A balancer runs on every read-only acquisition: it must be thread-safe, must not block and
 * should not allocate. Its pick is final unless that replica has stopped giving connections back
 * while another answers (a frozen server): then the read goes to the least busy other replica.
 */
@FunctionalInterface
public interface Balancer {

    /**
     * Picks one of {@code candidates}.
     *
     * @param candidates the replicas in rotation, never empty; the list is immutable and its
     *                   order stable between changes of health
     * @return the index of the chosen candidate, from {@code 0} to {@code candidates.size() - 1}
     */
    int select(List<? extends Candidate> candidates);

    /**
     * Cycles through the replicas in rotation in order.
     *
     * @return a new round-robin balancer
     */
    static Balancer roundRobin() {
        return new Balancers.RoundRobin();
    }

    /**
     * Picks a replica in rotation uniformly at random.
     *
     * @return a random balancer
     */
    static Balancer random() {
        return Balancers.Random.UNIFORM;
    }

    /**
     * Picks a replica in rotation at random, in proportion to its weight: a replica with weight
     * 2 serves about twice the reads of one with weight 1. Replicas not named get weight 1.
     *
     * @param weights weight by replica name, each at least 1
     * @return a weighted random balancer
     * @throws IllegalArgumentException if a weight is below 1
     */
    static Balancer weightedRandom(Map<String, Integer> weights) {
        return new Balancers.Random(weights);
    }

    /**
     * Picks the replica whose pool has the fewest connections in use and waiting, rotating
     * among equals.
     *
     * @return a new least-in-use balancer
     */
    static Balancer leastInUse() {
        return new Balancers.LeastInUse();
    }

    /** What a balancer knows of a replica. */
    interface Candidate {

        /**
         * The replica's name.
         *
         * @return the name given to the builder
         */
        String name();

        /**
         * Connections of the replica's pool acquired or waited for right now.
         *
         * @return acquired plus pending acquisitions, {@code 0} when the pool reports no metrics
         */
        int inUse();
    }
}
