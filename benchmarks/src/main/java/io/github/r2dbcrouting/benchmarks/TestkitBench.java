package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.r2dbcrouting.testkit.DatabaseCluster;
import io.github.r2dbcrouting.testkit.DatabaseNode;

/**
 * What a {@link BenchCluster} over a testkit cluster does alike for both families: its nodes (one
 * {@link TestkitNode} per server, the first the primary until a promotion), waiting for
 * replication, closing, naming.
 */
abstract class TestkitBench implements BenchCluster {

    private final DatabaseCluster cluster;

    final List<BenchNode> nodes = new ArrayList<>();

    volatile BenchNode primary;

    TestkitBench(DatabaseCluster cluster) {
        this.cluster = cluster;
        for (DatabaseNode node : cluster.nodes()) {
            this.nodes.add(new TestkitNode(node, this::restarted));
        }
        this.primary = this.nodes.get(0);
    }

    /** Puts back on {@code node}, restarted, what the cluster set up at run time; nothing by default. */
    void restarted(TestkitNode node) {
    }

    @Override
    public final List<BenchNode> nodes() {
        return List.copyOf(this.nodes);
    }

    @Override
    public final BenchNode primary() {
        return this.primary;
    }

    @Override
    public final void awaitReplication(Duration timeout) {
        this.cluster.awaitReplication(timeout);
    }

    @Override
    public final void close() {
        this.cluster.close();
    }

    @Override
    public final String toString() {
        return this.cluster.toString();
    }
}
