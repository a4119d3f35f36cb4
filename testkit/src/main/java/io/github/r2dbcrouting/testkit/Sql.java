package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Blocking one-shot SQL on a fresh connection; blocking is fine in a test kit. */
final class Sql {

    /** Bound for one whole statement, connection included, so a frozen node cannot hang a test. */
    static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(10);

    private Sql() {
    }

    static @Nullable String queryString(Endpoint endpoint, String sql) {
        return queryString(endpoint.connectionFactory(), endpoint, sql);
    }

    /** @param where names the server in error messages (its {@code toString()} must hold no password) */
    static @Nullable String queryString(ConnectionFactory factory, Object where, String sql) {
        Optional<String> value = Mono
            .usingWhen(Mono.from(factory.create()),
                    connection -> Flux.from(connection.createStatement(sql).execute())
                        .concatMap(result -> result.map((row, metadata) -> Optional.ofNullable(firstColumn(row))))
                        .next(),
                    Connection::close)
            .timeout(STATEMENT_TIMEOUT)
            .onErrorMap(ex -> new IllegalStateException(
                    "'" + sql + "' failed on " + where + ": " + describe(ex), ex))
            .block();
        return value == null ? null : value.orElse(null);
    }

    /** Every row's first column, as text (SQL NULL left out). */
    static List<String> queryColumn(Endpoint endpoint, String sql) {
        List<String> values = Flux
            .usingWhen(Mono.from(endpoint.connectionFactory().create()),
                    connection -> Flux.from(connection.createStatement(sql).execute())
                        .concatMap(result -> result.map((row, metadata) -> Optional.ofNullable(firstColumn(row)))),
                    Connection::close)
            .timeout(STATEMENT_TIMEOUT)
            .onErrorMap(ex -> new IllegalStateException(
                    "'" + sql + "' failed on " + endpoint + ": " + describe(ex), ex))
            .flatMapIterable(value -> value.map(List::of).orElse(List.of()))
            .collectList()
            .block();
        return values == null ? List.of() : values;
    }

    static void execute(Endpoint endpoint, String sql) {
        execute(endpoint.connectionFactory(), endpoint, sql);
    }

    /** @param where names the server in error messages (its {@code toString()} must hold no password) */
    static void execute(ConnectionFactory factory, Object where, String sql) {
        Mono.usingWhen(Mono.from(factory.create()),
                connection -> Flux.from(connection.createStatement(sql).execute())
                    .concatMap(Result::getRowsUpdated)
                    .then(),
                Connection::close)
            .timeout(STATEMENT_TIMEOUT)
            .onErrorMap(ex -> new IllegalStateException(
                    "'" + sql + "' failed on " + where + ": " + describe(ex), ex))
            .block();
    }

    private static @Nullable String firstColumn(Row row) {
        Object value = row.get(0);
        return value == null ? null : value.toString();
    }

    private static String describe(Throwable ex) {
        return ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
    }

}
