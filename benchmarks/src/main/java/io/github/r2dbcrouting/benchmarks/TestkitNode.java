package io.github.r2dbcrouting.benchmarks;

import java.util.function.Consumer;

import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.r2dbc.spi.ConnectionFactory;

/**
 * A {@link BenchNode} over a testkit node of either family; {@code afterRestart} puts back what
 * the cluster set up at run time (MariaDB's semi-synchronous settings live in memory only).
 */
final class TestkitNode implements BenchNode {

    private final DatabaseNode node;

    private final Consumer<TestkitNode> afterRestart;

    TestkitNode(DatabaseNode node, Consumer<TestkitNode> afterRestart) {
        this.node = node;
        this.afterRestart = afterRestart;
    }

    /** The testkit's node, for what only its family does. */
    DatabaseNode node() {
        return this.node;
    }

    @Override
    public String name() {
        return this.node.name();
    }

    @Override
    public int port() {
        return this.node.port();
    }

    @Override
    public ConnectionFactory connectionFactory() {
        return this.node.connectionFactory();
    }

    @Override
    public boolean isRunning() {
        return this.node.isRunning();
    }

    @Override
    public void kill() {
        this.node.kill();
    }

    @Override
    public void restart() {
        this.node.restart();
        this.afterRestart.accept(this);
    }

    @Override
    public void freeze() {
        this.node.freeze();
    }

    @Override
    public void thaw() {
        this.node.thaw();
    }

    @Override
    public void pauseReplay() {
        this.node.pauseReplay();
    }

    @Override
    public void resumeReplay() {
        this.node.resumeReplay();
    }

    @Override
    public String queryString(String sql) {
        return this.node.queryString(sql);
    }

    @Override
    public void execute(String sql) {
        this.node.execute(sql);
    }

    @Override
    public int clientSessions() {
        return this.node.clientSessions();
    }

    @Override
    public String toString() {
        return this.node.name();
    }
}
