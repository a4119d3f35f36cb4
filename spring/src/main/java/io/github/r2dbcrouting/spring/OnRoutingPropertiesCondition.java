package io.github.r2dbcrouting.spring;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.github.r2dbcrouting.RoutingOptions;
import io.r2dbc.spi.Option;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when any {@code r2dbc.routing.*} property is set, so that a half-written
 * configuration (replicas but no primary URL) fails with a message naming the missing property
 * instead of silently falling back to Boot's single-database setup.
 */
class OnRoutingPropertiesCondition extends SpringBootCondition {

    /** The top-level keys of ours: {@link RoutingProperties} and the first segment of each {@link RoutingOptions} option. */
    static final Set<String> KEYS = keys();

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Map<String, Object> properties = Binder.get(context.getEnvironment())
            .bind("r2dbc.routing", Bindable.mapOf(String.class, Object.class))
            .orElse(Map.of());
        // only our own keys count: the testkit's R2DBC_ROUTING_TESTKIT_* environment variables,
        // for one, bind to r2dbc.routing.testkit.* through relaxed binding
        Set<String> ours = new TreeSet<>();
        for (String key : properties.keySet()) {
            if (KEYS.contains(normalize(key))) {
                ours.add(key);
            }
        }
        if (ours.isEmpty()) {
            return ConditionOutcome.noMatch("no r2dbc.routing.* property of ours is set " + KEYS);
        }
        return ConditionOutcome.match("r2dbc.routing.* properties are set: " + ours);
    }

    private static Set<String> keys() {
        Set<String> keys = new TreeSet<>(Set.of("primary", "replicas"));
        for (Option<?> option : RoutingOptions.all()) {
            int dot = option.name().indexOf('.');
            keys.add(normalize(dot < 0 ? option.name() : option.name().substring(0, dot)));
        }
        return Set.copyOf(keys);
    }

    /** {@code session-wait}, {@code sessionWait} and {@code session_wait} are one key to Spring. */
    private static String normalize(String key) {
        return key.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
    }
}
