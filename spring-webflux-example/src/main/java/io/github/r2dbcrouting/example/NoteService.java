package io.github.r2dbcrouting.example;

import java.time.OffsetDateTime;
import java.util.List;

import io.github.r2dbcrouting.Routing;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
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

    private final NodeNames nodeNames;

    NoteService(NoteRepository notes, DatabaseClient client, NodeNames nodeNames) {
        this.notes = notes;
        this.client = client;
        this.nodeNames = nodeNames;
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

    /** A read with DatabaseClient and an explicit routing key, no transaction. */
    public Mono<Served<Note>> find(long id) {
        return this.client.sql("SELECT id, text, created_at, inet_server_port() AS port, pg_is_in_recovery() AS in_recovery"
                + " FROM notes WHERE id = :id")
            .bind("id", id)
            .map(row -> new Served<>(
                new Note(row.get("id", Long.class), row.get("text", String.class), row.get("created_at", OffsetDateTime.class)),
                this.nodeNames.servedBy(row.get("port", Integer.class), row.get("in_recovery", Boolean.class))))
            .one()
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

    /** Runs on the connection of the surrounding transaction, if any. */
    private Mono<ServedBy> servedBy() {
        return this.client.sql(SERVED_BY)
            .map(row -> this.nodeNames.servedBy(row.get("port", Integer.class), row.get("in_recovery", Boolean.class)))
            .one();
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
