package io.github.r2dbcrouting;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/** The built-in balancers: lock-free and allocation-free on {@code select}. */
final class Balancers {

    private Balancers() {
    }

    /**
     * Round robin without one counter that every core fights over: threads count in striped
     * cells (a cache line apart), so each thread cycles through the candidates in order and, over
     * many threads, the load is still spread evenly.
     */
    static final class RoundRobin implements Balancer {

        private static final int CELLS = 8;

        /** Ints per cell: 16 x 4 bytes keeps two cells off one 64-byte cache line. */
        private static final int STRIDE = 16;

        private final AtomicIntegerArray next = new AtomicIntegerArray(CELLS * STRIDE);

        RoundRobin() {
            // cells start apart, so that threads making one read each do not all start on the first replica
            for (int cell = 0; cell < CELLS; cell++) {
                this.next.set(cell * STRIDE, cell);
            }
        }

        @Override
        public int select(List<? extends Candidate> candidates) {
            @SuppressWarnings("deprecation") // getId(): threadId() needs Java 19
            int cell = (int) (Thread.currentThread().getId() & (CELLS - 1)) * STRIDE;
            return Math.floorMod(this.next.getAndIncrement(cell), candidates.size());
        }

        @Override
        public String toString() {
            return "roundRobin";
        }
    }

    static final class Random implements Balancer {

        static final Random UNIFORM = new Random(Map.of());

        private final Map<String, Integer> weights;

        Random(Map<String, Integer> weights) {
            Map<String, Integer> copy = new HashMap<>();
            weights.forEach((name, weight) -> {
                if (weight == null || weight < 1) {
                    throw new IllegalArgumentException("weight of replica '" + name + "' must be at least 1, was " + weight);
                }
                copy.put(name, weight);
            });
            this.weights = Map.copyOf(copy);
        }

        @Override
        public int select(List<? extends Candidate> candidates) {
            int size = candidates.size();
            if (this.weights.isEmpty()) {
                return size == 1 ? 0 : ThreadLocalRandom.current().nextInt(size);
            }
            int total = 0;
            for (int i = 0; i < size; i++) {
                total += weightOf(candidates.get(i));
            }
            int ticket = ThreadLocalRandom.current().nextInt(total);
            for (int i = 0; i < size; i++) {
                ticket -= weightOf(candidates.get(i));
                if (ticket < 0) {
                    return i;
                }
            }
            return size - 1;
        }

        private int weightOf(Candidate candidate) {
            return this.weights.getOrDefault(candidate.name(), 1);
        }

        @Override
        public String toString() {
            return this.weights.isEmpty() ? "random" : "weightedRandom" + this.weights;
        }
    }

    static final class LeastInUse implements Balancer {

        private final AtomicInteger rotation = new AtomicInteger();

        @Override
        public int select(List<? extends Candidate> candidates) {
            int size = candidates.size();
            int start = Math.floorMod(this.rotation.getAndIncrement(), size);
            int best = start;
            int bestLoad = candidates.get(start).inUse();
            for (int k = 1; k < size && bestLoad > 0; k++) {
                int i = start + k;
                if (i >= size) {
                    i -= size;
                }
                int load = candidates.get(i).inUse();
                if (load < bestLoad) {
                    best = i;
                    bestLoad = load;
                }
            }
            return best;
        }

        @Override
        public String toString() {
            return "leastInUse";
        }
    }
}
