package io.github.r2dbcrouting.spring;

import java.util.Map;

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

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Map<String, Object> properties = Binder.get(context.getEnvironment())
            .bind("r2dbc.routing", Bindable.mapOf(String.class, Object.class))
            .orElse(Map.of());
        if (properties.isEmpty()) {
            return ConditionOutcome.noMatch("no r2dbc.routing.* property is set");
        }
        return ConditionOutcome.match("r2dbc.routing.* properties are set: " + properties.keySet());
    }
}
