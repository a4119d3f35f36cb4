package io.github.r2dbcrouting.benchmarks;

import java.util.function.Function;

import org.springframework.r2dbc.connection.lookup.AbstractRoutingConnectionFactory;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * Spring's routing factory set up the way its Javadoc describes: a subclass whose
 * {@link #determineCurrentLookupKey()} reads the key from the subscriber's Reactor context, a
 * map of targets by key and a default target. The baseline the routing factory is compared to.
 */
final class ReadOnlyRoutingConnectionFactory extends AbstractRoutingConnectionFactory {

    /** The context key. */
    static final String KEY = ReadOnlyRoutingConnectionFactory.class.getName() + ".KEY";

    /** The lookup key of the read-only target. */
    static final String READ_ONLY = "read-only";

    private static final Function<Context, Context> READ_ONLY_CONTEXT = context -> context.put(KEY, READ_ONLY);

    /** The {@code contextWrite} function that routes a pipeline to the read-only target. */
    static Function<Context, Context> readOnly() {
        return READ_ONLY_CONTEXT;
    }

    @Override
    protected Mono<Object> determineCurrentLookupKey() {
        return Mono.deferContextual(context -> Mono.justOrEmpty(context.getOrEmpty(KEY)));
    }
}
