package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.r2dbcrouting.RoutingOptions;
import io.r2dbc.spi.Option;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * One Spring property per core setting: the properties are core's {@link RoutingOptions},
 * nothing missing, nothing extra, and the IDE metadata says the same.
 */
class RoutingOptionsPropertiesTests {

    private static final String ADDITIONAL = "META-INF/additional-spring-configuration-metadata.json";

    /** The properties of {@link RoutingProperties}: nodes, which are not settings. */
    private static final Set<String> NODE_PROPERTIES = Set.of("r2dbc.routing.primary.name", "r2dbc.routing.primary.url",
        "r2dbc.routing.primary.username", "r2dbc.routing.primary.password", "r2dbc.routing.replicas");

    @Test
    void shouldKeepTheAdditionalMetadataInStepWithCoresOptions() throws IOException {
        String expected = additionalMetadata();
        String actual = read(ADDITIONAL);
        if (!expected.equals(actual)) {
            Path written = Path.of("target", "additional-spring-configuration-metadata.json");
            Files.writeString(written, expected, StandardCharsets.UTF_8);
            assertThat(actual).as("src/main/resources/" + ADDITIONAL + " is out of step with RoutingOptions; copy "
                + written.toAbsolutePath() + " over it").isEqualTo(expected);
        }
    }

    @Test
    void shouldOfferExactlyOnePropertyPerCoreSetting() throws IOException {
        // what the configuration processor generated from RoutingProperties and the additional metadata
        String generated = read("META-INF/spring-configuration-metadata.json");
        String properties = generated.substring(generated.indexOf("\"properties\""));
        int end = properties.indexOf("\"hints\"");
        properties = end < 0 ? properties : properties.substring(0, end);
        Map<String, Integer> counts = new LinkedHashMap<>();
        Matcher name = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]+)\"").matcher(properties);
        while (name.find()) {
            counts.merge(name.group(1), 1, Integer::sum);
        }
        Set<String> expected = new TreeSet<>(NODE_PROPERTIES);
        for (Option<?> option : RoutingOptions.all()) {
            expected.add(PropertiesRoutingFactory.property(option));
        }
        assertThat(new TreeSet<>(counts.keySet())).isEqualTo(expected);
        assertThat(counts).allSatisfy((property, count) -> assertThat(count).as(property).isEqualTo(1));
    }

    @Test
    void shouldReadEveryOptionFromItsKebabCaseProperty() {
        Map<String, Object> source = new LinkedHashMap<>();
        for (Option<?> option : RoutingOptions.all()) {
            source.put(PropertiesRoutingFactory.property(option), "value of " + option.name());
        }
        Map<Option<?>, Object> values = PropertiesRoutingFactory.values(binder(new MapPropertySource("test", source)));
        assertThat(values).hasSize(RoutingOptions.all().size());
        values.forEach((option, value) -> assertThat(value).isEqualTo("value of " + option.name()));
    }

    @Test
    void shouldReadOptionsWithRelaxedNames() {
        Map<Option<?>, Object> values = PropertiesRoutingFactory.values(binder(
            new MapPropertySource("camel", Map.of("r2dbc.routing.pool.maxSize", "5", "r2dbc.routing.sessionWait", "250ms",
                "r2dbc.routing.weights.replica-1", "3")),
            new SystemEnvironmentPropertySource("systemEnvironment", Map.of("R2DBC_ROUTING_HEALTH_MAXLAGBYTES", "1024"))));
        assertThat(values).containsEntry(RoutingOptions.POOL_MAX_SIZE, "5")
            .containsEntry(RoutingOptions.SESSION_WAIT, "250ms")
            .containsEntry(RoutingOptions.WEIGHTS, Map.of("replica-1", "3"))
            .containsEntry(RoutingOptions.HEALTH_MAX_LAG_BYTES, "1024")
            .hasSize(4);
    }

    @Test
    void shouldMatchEveryTopLevelKeyOfOurs() {
        assertThat(OnRoutingPropertiesCondition.KEYS).contains("primary", "replicas", "pool", "health", "sessionwait", "weights",
            "balancer", "fallback", "name");
    }

    private static Binder binder(org.springframework.core.env.PropertySource<?>... sources) {
        MutablePropertySources all = new MutablePropertySources();
        for (org.springframework.core.env.PropertySource<?> source : sources) {
            all.addLast(source);
        }
        return new Binder(ConfigurationPropertySources.from(all));
    }

    /** The IDE metadata of every option, from core's table. */
    static String additionalMetadata() {
        StringBuilder json = new StringBuilder("{\n  \"properties\": [");
        String separator = "\n";
        for (Option<?> option : RoutingOptions.all()) {
            json.append(separator).append("    {\n");
            json.append("      \"name\": ").append(quote(PropertiesRoutingFactory.property(option))).append(",\n");
            json.append("      \"type\": ").append(quote(typeName(option))).append(",\n");
            json.append("      \"description\": ").append(quote(RoutingOptions.description(option)));
            String defaultValue = RoutingOptions.defaultValue(option);
            if (defaultValue != null) {
                Class<?> type = RoutingOptions.type(option);
                boolean number = type == Integer.class || type == Long.class;
                json.append(",\n      \"defaultValue\": ").append(number ? defaultValue : quote(defaultValue));
            }
            json.append("\n    }");
            separator = ",\n";
        }
        return json.append("\n  ]\n}\n").toString();
    }

    private static String typeName(Option<?> option) {
        Class<?> type = RoutingOptions.type(option);
        // weights are written as text (replica-1:3,replica-2:1), as in a URL; the map form binds too
        return type == Map.class ? String.class.getName() : type.getName();
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String read(String resource) throws IOException {
        try (InputStream in = RoutingOptionsPropertiesTests.class.getClassLoader().getResourceAsStream(resource)) {
            assertThat(in).as(resource + " on the class path").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
