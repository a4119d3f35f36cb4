package io.github.r2dbcrouting;

import java.util.List;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Small R2DBC helpers for tests: each call acquires, runs, and releases. */
final class Db {

    private Db() {
    }

    /** Which server answered: its port and whether it is in recovery. */
    record Served(int port, boolean inRecovery) {
    }

    static Mono<Served> whoServes(ConnectionFactory factory) {
        return Mono.usingWhen(Mono.from(factory.create()), Db::whoServes, Connection::close);
    }

    /** PostgreSQL or MariaDB (a MariaDB node is "in recovery" when it is read-only). */
    static Mono<Served> whoServes(Connection connection) {
        if ("MariaDB".equals(connection.getMetadata().getDatabaseProductName())) {
            return Flux.from(connection.createStatement("SELECT @@port, @@read_only").execute())
                .flatMap(result -> result.map((row, meta) -> new Served(((Number) row.get(0)).intValue(), isTrue(row.get(1)))))
                .single();
        }
        return Flux.from(connection.createStatement("SELECT inet_server_port(), pg_is_in_recovery()").execute())
            .flatMap(result -> result.map((row, meta) -> new Served(row.get(0, Integer.class), row.get(1, Boolean.class))))
            .single();
    }

    /** A truth value as either family answers it: PostgreSQL a boolean, MariaDB a number (0 false). */
    static boolean isTrue(Object value) {
        return value instanceof Boolean bool ? bool : ((Number) value).intValue() != 0;
    }

    static Mono<Long> update(ConnectionFactory factory, String sql) {
        return Mono.usingWhen(Mono.from(factory.create()),
            connection -> Flux.from(connection.createStatement(sql).execute()).flatMap(r -> Mono.from(r.getRowsUpdated())).reduce(0L, Long::sum),
            Connection::close);
    }

    static Mono<List<String>> strings(ConnectionFactory factory, String sql) {
        return Mono.usingWhen(Mono.from(factory.create()),
            connection -> Flux.from(connection.createStatement(sql).execute())
                .flatMap(result -> result.map((row, meta) -> String.valueOf(row.get(0))))
                .collectList(),
            Connection::close);
    }
}
