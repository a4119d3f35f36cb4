package io.github.r2dbcrouting.benchmarks;

import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Writes maps, lists, strings, numbers and booleans as indented JSON, doubles with three decimals. Enough for the reports. */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, "");
        return out.append('\n').toString();
    }

    private static void write(StringBuilder out, Object value, String indent) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append("{\n");
            Iterator<? extends Map.Entry<?, ?>> entries = map.entrySet().iterator();
            while (entries.hasNext()) {
                Map.Entry<?, ?> entry = entries.next();
                out.append(indent).append("  ");
                string(out, String.valueOf(entry.getKey()));
                out.append(": ");
                write(out, entry.getValue(), indent + "  ");
                out.append(entries.hasNext() ? ",\n" : "\n");
            }
            out.append(indent).append('}');
        } else if (value instanceof Iterable<?> list) {
            Iterator<?> items = list.iterator();
            if (!items.hasNext()) {
                out.append("[]");
                return;
            }
            out.append("[\n");
            while (items.hasNext()) {
                out.append(indent).append("  ");
                write(out, items.next(), indent + "  ");
                out.append(items.hasNext() ? ",\n" : "\n");
            }
            out.append(indent).append(']');
        } else if (value instanceof Double d) {
            out.append(d.isNaN() || d.isInfinite() ? "null" : String.format(java.util.Locale.ROOT, "%.3f", d));
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else {
            string(out, value.toString());
        }
    }

    private static void string(StringBuilder out, String text) {
        try {
            out.append(MAPPER.writeValueAsString(text));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a string that cannot be written as JSON: " + e.getMessage(), e);
        }
    }
}
