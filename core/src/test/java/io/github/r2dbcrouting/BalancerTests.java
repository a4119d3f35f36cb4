package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class BalancerTests {

    private record Replica(String name, int inUse) implements Balancer.Candidate {
    }

    private final List<Replica> three = List.of(new Replica("a", 0), new Replica("b", 0), new Replica("c", 0));

    @Test
    void shouldCycleInOrderWithRoundRobin() {
        Balancer balancer = Balancer.roundRobin();
        int first = balancer.select(this.three);
        int[] picks = new int[6];
        for (int i = 0; i < picks.length; i++) {
            picks[i] = balancer.select(this.three);
        }
        assertThat(picks).containsExactly((first + 1) % 3, (first + 2) % 3, first, (first + 1) % 3, (first + 2) % 3, first);
    }

    @Test
    void shouldSpreadReadsOfManyThreadsEvenly() throws InterruptedException {
        Balancer balancer = Balancer.roundRobin();
        Map<Integer, Integer> counts = new java.util.concurrent.ConcurrentHashMap<>();
        List<Thread> threads = new java.util.ArrayList<>();
        for (int t = 0; t < 8; t++) {
            threads.add(new Thread(() -> {
                for (int i = 0; i < 3_000; i++) {
                    counts.merge(balancer.select(this.three), 1, Integer::sum);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread thread : threads) {
            thread.join();
        }
        // each thread cycles on its own: 1000 per replica per thread, whatever the interleaving
        assertThat(counts).containsEntry(0, 8_000).containsEntry(1, 8_000).containsEntry(2, 8_000);
    }

    @Test
    void shouldStayInRangeWhenTheListShrinks() {
        Balancer balancer = Balancer.roundRobin();
        balancer.select(this.three);
        balancer.select(this.three);
        assertThat(balancer.select(List.of(new Replica("a", 0)))).isZero();
    }

    @Test
    void shouldSpreadUniformlyWithRandom() {
        Map<Integer, Integer> counts = count(Balancer.random(), this.three, 30_000);
        assertThat(counts.keySet()).containsExactlyInAnyOrder(0, 1, 2);
        counts.values().forEach(n -> assertThat(n).isBetween(9_000, 11_000));
    }

    @Test
    void shouldFollowWeightsWithWeightedRandom() {
        Map<Integer, Integer> counts = count(Balancer.weightedRandom(Map.of("a", 3)), this.three, 50_000);
        // a: 3/5, b and c: 1/5 each
        assertThat(counts.get(0)).isBetween(28_000, 32_000);
        assertThat(counts.get(1)).isBetween(8_500, 11_500);
        assertThat(counts.get(2)).isBetween(8_500, 11_500);
    }

    @Test
    void shouldPickTheLeastBusyReplica() {
        Balancer balancer = Balancer.leastInUse();
        List<Replica> loaded = List.of(new Replica("a", 5), new Replica("b", 1), new Replica("c", 3));
        for (int i = 0; i < 6; i++) {
            assertThat(balancer.select(loaded)).isEqualTo(1);
        }
    }

    @Test
    void shouldRotateAmongEquallyIdleReplicas() {
        Map<Integer, Integer> counts = count(Balancer.leastInUse(), this.three, 300);
        assertThat(counts).containsEntry(0, 100).containsEntry(1, 100).containsEntry(2, 100);
    }

    private static Map<Integer, Integer> count(Balancer balancer, List<Replica> candidates, int picks) {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            counts.merge(balancer.select(candidates), 1, Integer::sum);
        }
        return counts;
    }
}
