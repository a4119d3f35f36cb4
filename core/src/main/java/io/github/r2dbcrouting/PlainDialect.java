package io.github.r2dbcrouting;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A node of a family no dialect recognises: its probe is the validation query (it answers, no
 * role, no position, no lag), it does not say who it is, and nothing that needs more is trusted
 * to it. Its read-only session uses the SQL standard's statement.
 */
final class PlainDialect implements Dialect {

    private static final Logger LOGGER = Loggers.getLogger(PlainDialect.class);

    static final PlainDialect INSTANCE = new PlainDialect();

    /** The SQL standard's statements, which most databases understand. */
    static final String READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";

    static final String READ_WRITE = "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE";

    private static final Status ANSWERED = new Status(NodeRole.UNKNOWN, -1, null);

    private PlainDialect() {
    }

    /**
     * The dialect of node {@code node}, whose driver says it is {@code driver}, which no dialect
     * recognises; says so once, naming the node, what it cannot read and how the node is handled.
     */
    static PlainDialect unknown(String node, String driver) {
        LOGGER.warn("node '{}': no dialect recognises its driver ('{}', known: PostgreSQL, MariaDB): its role, lag and positions "
            + "cannot be read, so it is checked with the validation query only and serves in the role it was configured in; "
            + "read-your-writes sessions read on the primary, and it is never taken for another name of a server", node, driver);
        return INSTANCE;
    }

    @Override
    public String family() {
        return "an unknown database family";
    }

    @Override
    public Mono<Status> probe(Connection connection, String validationQuery) {
        return Flux.from(connection.createStatement(validationQuery).execute())
            .flatMap(Result::getRowsUpdated)
            .then(Mono.just(ANSWERED));
    }

    @Override
    public Mono<Void> resetTimeouts(Connection connection, boolean statementTimeout, boolean lockTimeout) {
        return Mono.error(new IllegalStateException("a timeout was changed and this driver has no way to restore it"));
    }

    @Override
    public Mono<Position> writePosition(Connection primary) {
        return Mono.error(new IllegalStateException("the position of a write is unknown on " + family()));
    }

    /** Compares nothing (its session reads go to the primary), so any session is accepted. */
    @Override
    public boolean accepts(Position position) {
        return true;
    }

    @Override
    public String toString() {
        return family();
    }
}
