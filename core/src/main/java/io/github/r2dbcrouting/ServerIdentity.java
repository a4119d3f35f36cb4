package io.github.r2dbcrouting;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Who a server is, as the server itself says, independent of the name that reached it. For
 * PostgreSQL: the system identifier of its data directory (shared by a primary and all its
 * physical replicas, so not enough alone) and when its postmaster started (which tells a
 * replica from its primary, and a restarted server from what it was before). Neither can
 * change while a connection to the server lives, so a probe reads it once per connection. For
 * MariaDB: its {@code @@server_id} (unique among the servers of one replication topology) and when
 * it started, to the second (see {@link MariaDbDialect}).
 *
 * @param systemIdentifier PostgreSQL: {@code pg_control_system().system_identifier}, as PostgreSQL shows it (a
 *                         signed bigint); MariaDB: {@code @@server_id}
 * @param startedMicros    when the server started, in microseconds since the epoch (PostgreSQL:
 *                         {@code pg_postmaster_start_time()}; MariaDB: whole seconds)
 */
record ServerIdentity(long systemIdentifier, long startedMicros) {

    /**
     * Runs a family's identity query, whose one row holds the identifier and the start in
     * microseconds since the epoch; empty when either is {@code NULL} or there is no row.
     */
    static Mono<Optional<ServerIdentity>> query(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute())
            .flatMap(result -> result.map((row, metadata) -> {
                Long identifier = row.get(0, Long.class);
                Long started = row.get(1, Long.class);
                return identifier == null || started == null ? Optional.<ServerIdentity>empty() : Optional.of(new ServerIdentity(identifier, started));
            }))
            .last(Optional.empty());
    }

    /** @return e.g. {@code 7301234567890123456@2026-11-30T04:25:53.083173Z} */
    @Override
    public String toString() {
        return this.systemIdentifier + "@" + Instant.EPOCH.plus(this.startedMicros, ChronoUnit.MICROS);
    }
}
