package io.github.r2dbcrouting.example;

import java.util.List;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import reactor.core.publisher.Mono;

/** The notes API, and two endpoints that show the routing at work. */
@RestController
public class NotesController {

    private final NoteService notes;

    private final RoutingConnectionFactory routing;

    NotesController(NoteService notes, RoutingConnectionFactory routing) {
        this.notes = notes;
        this.routing = routing;
    }

    /** {@code POST /notes {"text": "..."}}: written on the primary. */
    @PostMapping("/notes")
    @ResponseStatus(HttpStatus.CREATED)
    public Mono<NoteService.Served<Note>> create(@RequestBody NewNote note) {
        if (note.text() == null || note.text().isBlank()) {
            return Mono.error(new ResponseStatusException(HttpStatus.BAD_REQUEST, "text must not be blank"));
        }
        return this.notes.create(note.text());
    }

    /** {@code GET /notes}: the latest notes, read on a replica in a read-only transaction. */
    @GetMapping("/notes")
    public Mono<NoteService.Served<List<Note>>> latest() {
        return this.notes.latest();
    }

    /** {@code GET /notes/{id}}: one note, read on a replica through {@code Routing.readOnly()}. */
    @GetMapping("/notes/{id}")
    public Mono<NoteService.Served<Note>> find(@PathVariable long id) {
        return this.notes.find(id)
            .switchIfEmpty(Mono.error(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no note " + id)));
    }

    /** {@code GET /db/served-by?readOnly=true}: which node a query lands on. */
    @GetMapping("/db/served-by")
    public Mono<ServedBy> servedBy(@RequestParam(defaultValue = "false") boolean readOnly) {
        return this.notes.whereAmI(readOnly);
    }

    /** {@code GET /db/nodes}: the routing factory's view of every node. */
    @GetMapping("/db/nodes")
    public List<NodeJson> nodes() {
        return this.routing.nodes().stream().map(NodeJson::of).toList();
    }

    /**
     * The body of {@code POST /notes}.
     *
     * @param text what the note says
     */
    public record NewNote(String text) {
    }
}
