package io.github.r2dbcrouting.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jspecify.annotations.Nullable;

/**
 * Patroni's REST answers read, and JSON strings written for its configuration files: objects
 * become {@code Map<String, Object>}, arrays {@code List<Object>}, numbers {@code Long} or
 * {@code Double}, and {@code null} a Java null.
 */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, DeserializationFeature.USE_LONG_FOR_INTS);

    private Json() {
    }

    /** @throws IllegalArgumentException saying where when {@code text} is not JSON */
    static @Nullable Object parse(String text) {
        try {
            return MAPPER.readValue(text, Object.class);
        }
        catch (JsonProcessingException ex) {
            throw new IllegalArgumentException("not JSON: " + ex.getOriginalMessage() + " at " + ex.getLocation(), ex);
        }
    }

    /** {@code value} as a JSON string literal. */
    static String quote(String value) {
        try {
            return MAPPER.writeValueAsString(value);
        }
        catch (JsonProcessingException ex) {
            throw new IllegalStateException("a string that cannot be written as JSON: " + ex.getMessage(), ex);
        }
    }
}
