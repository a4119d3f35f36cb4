package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@link BenchCluster.ReplayToggle} on one connection per replica, held open: one statement per
 * replica and switch, so that a 250 ms toggle costs no connection set-up (and, on MariaDB, no
 * {@code mariadb} client process as the testkit's own {@code pauseReplay()} does).
 */
final class HeldReplayToggle implements BenchCluster.ReplayToggle {

    private static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(30);

    private final List<Connection> connections = new ArrayList<>();

    private final String pauseSql;

    private final String resumeSql;

    private boolean paused;

    HeldReplayToggle(List<ConnectionFactory> replicas, String pauseSql, String resumeSql) {
        this.pauseSql = pauseSql;
        this.resumeSql = resumeSql;
        try {
            for (ConnectionFactory replica : replicas) {
                this.connections.add(Mono.from(replica.create()).block(STATEMENT_TIMEOUT));
            }
        } catch (RuntimeException error) {
            close();
            throw error;
        }
    }

    @Override
    public synchronized void pause() {
        run(this.pauseSql);
        this.paused = true;
    }

    @Override
    public synchronized void resume() {
        run(this.resumeSql);
        this.paused = false;
    }

    private void run(String sql) {
        for (Connection connection : this.connections) {
            Flux.from(connection.createStatement(sql).execute()).concatMap(result -> result.getRowsUpdated()).then().block(STATEMENT_TIMEOUT);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (this.paused) {
                resume();
            }
        } finally {
            for (Connection connection : this.connections) {
                Mono.from(connection.close()).onErrorResume(error -> Mono.empty()).block(STATEMENT_TIMEOUT);
            }
            this.connections.clear();
        }
    }
}
