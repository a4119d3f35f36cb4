package io.github.r2dbcrouting.spring;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

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

    /** The top-level keys of {@link RoutingProperties}. */
    static final Set<String> KEYS = Set.of("name", "primary", "replicas", "pool", "health", "balancer", "fallback");

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Map<String, Object> properties = Binder.get(context.getEnvironment())
            .bind("r2dbc.routing", Bindable.mapOf(String.class, Object.class))
            .orElse(Map.of());
        // only our own keys count: the testkit's R2DBC_ROUTING_TESTKIT_* environment variables,
        // for one, bind to r2dbc.routing.testkit.* through relaxed binding
        Set<String> ours = new TreeSet<>(properties.keySet());
        ours.retainAll(KEYS);
        if (ours.isEmpty()) {
            return ConditionOutcome.noMatch("no r2dbc.routing.* property of ours is set " + KEYS);
        }
        return ConditionOutcome.match("r2dbc.routing.* properties are set: " + ours);
    }
}
