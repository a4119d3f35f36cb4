package io.github.r2dbcrouting.example;

import java.time.OffsetDateTime;

import org.jspecify.annotations.Nullable;
import org.springframework.data.annotation.Id;
import org.springframework.data.annotation.ReadOnlyProperty;
import org.springframework.data.relational.core.mapping.Table;

/**
 * A note, as stored.
 *
 * @param id        assigned by the database
 * @param text      what the note says
 * @param createdAt when it was written, set by the database (never written by the application)
 */
@Table("notes")
public record Note(@Id @Nullable Long id, String text, @ReadOnlyProperty @Nullable OffsetDateTime createdAt) {
}
