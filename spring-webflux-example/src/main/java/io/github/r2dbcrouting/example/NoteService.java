package io.github.r2dbcrouting.example;

import java.time.OffsetDateTime;
import java.util.List;

import io.github.r2dbcrouting.Routing;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The three ways to choose a node, side by side: a read-write transaction (the primary), a
 * read-only transaction (a replica, for its whole length), and a routing key on one pipeline.
 */
@Service
public class NoteService {

    static final String SERVED_BY = "SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery";

    private final NoteRepository notes;

    private final DatabaseClient client;

    NoteService(NoteRepository notes, DatabaseClient client) {
        this.notes = notes;
        this.client = client;
    }

    /** A write: a read-write transaction, so the primary. */
    @Transactional
    public Mono<Served<Note>> create(String text) {
        return this.notes.save(new Note(null, text, null))
            .flatMap(saved -> this.notes.findById(saved.id())) // created_at is set by the database
            .zipWith(servedBy(), Served::new);
    }

    /** A read through the repository in a read-only transaction: one replica serves all of it. */
    @Transactional(readOnly = true)
    public Mono<Served<List<Note>>> latest() {
        return this.notes.findTop20ByOrderByIdDesc().collectList().zipWith(servedBy(), Served::new);
    }

    /**
     * A read with an explicit routing key, no transaction: on one connection, so that the node
     * it names is the one that read the note.
     */
    public Mono<Served<Note>> find(long id) {
        return this.client.inConnection(connection -> Flux.from(connection
                    .createStatement("SELECT id, text, created_at, inet_server_port() AS port, pg_is_in_recovery() AS in_recovery"
                        + " FROM notes WHERE id = $1")
                    .bind("$1", id)
                    .execute())
                .flatMap(result -> result.map(row -> new Served<>(
                    new Note(row.get("id", Long.class), row.get("text", String.class), row.get("created_at", OffsetDateTime.class)),
                    NodeNames.servedBy(connection, row.get("port", Integer.class), row.get("in_recovery", Boolean.class)))))
                .singleOrEmpty())
            .contextWrite(Routing.readOnly());
    }

    /**
     * Which node a plain query lands on.
     *
     * @param readOnly whether to set {@link Routing#readOnly()}
     */
    public Mono<ServedBy> whereAmI(boolean readOnly) {
        Mono<ServedBy> query = servedBy();
        return readOnly ? query.contextWrite(Routing.readOnly()) : query;
    }

    /** Runs on the connection of the surrounding transaction, if any: the node it names is the transaction's. */
    private Mono<ServedBy> servedBy() {
        return this.client.inConnection(connection -> Flux.from(connection.createStatement(SERVED_BY).execute())
            .flatMap(result -> result.map(row -> NodeNames.servedBy(connection, row.get("port", Integer.class),
                row.get("in_recovery", Boolean.class))))
            .single());
    }

    /**
     * A result and the node that produced it.
     *
     * @param value    the result
     * @param servedBy the node
     * @param <T>      the result's type
     */
    public record Served<T>(T value, ServedBy servedBy) {
    }
}
