package io.github.r2dbcrouting.example;

import org.springframework.data.repository.reactive.ReactiveCrudRepository;
import reactor.core.publisher.Flux;

/** Spring Data R2DBC repository of notes; which node it uses is decided by the caller's transaction. */
public interface NoteRepository extends ReactiveCrudRepository<Note, Long> {

    /**
     * @return the newest notes first
     */
    Flux<Note> findTop20ByOrderByIdDesc();
}
