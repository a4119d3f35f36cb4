package io.github.r2dbcrouting;


import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * A node of a family no dialect recognises: its probe is the validation query (it answers, no
 * role, no position, no lag), it does not say who it is, and nothing that needs more is trusted
 * to it. Its read-only session uses the SQL standard's statement.
 */
final class PlainDialect implements Dialect {

    static final PlainDialect INSTANCE = new PlainDialect();

    /** The SQL standard's statements, which most databases understand. */
    static final String READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";

    static final String READ_WRITE = "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE";

    private static final Status ANSWERED = new Status(NodeRole.UNKNOWN, -1, null);

    private PlainDialect() {
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
    public Mono<Long> writePosition(Connection primary) {
        return Mono.error(new IllegalStateException("the position of a write is unknown on " + family()));
    }

    /** Never known to have applied anything: a session read goes to the primary. */
    @Override
    public Mono<Boolean> awaitApplied(Connection replica, long position, long deadline, Scheduler scheduler) {
        return Mono.just(false);
    }

    @Override
    public String toString() {
        return family();
    }
}
