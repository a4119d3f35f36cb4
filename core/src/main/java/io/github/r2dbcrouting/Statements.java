package io.github.r2dbcrouting;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The two ways the dialects run their own SQL on a connection. */
final class Statements {

    private Statements() {
    }

    /** Runs one statement and drops its results. */
    static Mono<Void> run(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute()).flatMap(Result::getRowsUpdated).then();
    }

    /** Runs a query whose first column of its one row is a {@code bigint}; {@code -1} for no row or {@code NULL}. */
    static Mono<Long> queryLong(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute())
            .flatMap(result -> result.map((row, metadata) -> {
                Long value = row.get(0, Long.class);
                return value == null ? -1L : value;
            }))
            .last(-1L);
    }
}
