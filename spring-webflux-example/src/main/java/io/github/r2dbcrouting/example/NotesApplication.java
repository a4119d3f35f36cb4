package io.github.r2dbcrouting.example;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A notes service on Spring WebFlux and r2dbc-routing: writes go to the primary, reads to the
 * replicas. Without {@code r2dbc.routing.primary.url} it starts a local PostgreSQL primary with
 * two streaming replicas first ({@link EmbeddedClusterInitializer}).
 */
@SpringBootApplication
public class NotesApplication {

    public static void main(String[] args) {
        SpringApplication.run(NotesApplication.class, args);
    }
}
