package io.github.r2dbcrouting;

import java.util.function.Function;

import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * Routing keys for a pipeline's Reactor {@link Context}.
 *
 * <pre>{@code
 * client.sql("SELECT * FROM orders WHERE id = :id").bind("id", id)
 *       .fetch().one()
 *       .contextWrite(Routing.readOnly());   // a healthy replica
 * }</pre>
 *
 * <p>A pipeline without a key goes to the primary. When keys are nested, the innermost
 * {@code contextWrite} (the one nearest the database call) wins, so {@link #primary()} inside a
 * read-only pipeline forces the primary. The decision is made when the connection is
 * requested, never when the pipeline is assembled.
 */
public final class Routing {

    /** The context key. A private object, so that no other code can collide with it. */
    static final Object KEY = new Object() {
        @Override
        public String toString() {
            return "io.github.r2dbcrouting.Routing.KEY";
        }
    };

    private static final Function<Context, Context> READ_ONLY = context -> context.put(KEY, Route.READ_ONLY);

    private static final Function<Context, Context> PRIMARY = context -> context.put(KEY, Route.PRIMARY);

    private Routing() {
    }

    /**
     * Routes the pipeline to a healthy replica (or to the fallback when none can serve it).
     *
     * @return a function for {@code contextWrite}
     */
    public static Function<Context, Context> readOnly() {
        return READ_ONLY;
    }

    /**
     * Routes the pipeline to the primary, also inside a read-only pipeline.
     *
     * @return a function for {@code contextWrite}
     */
    public static Function<Context, Context> primary() {
        return PRIMARY;
    }

    /**
     * Tells whether a context routes to replicas.
     *
     * @param context a pipeline's context
     * @return {@code true} when the innermost routing key in {@code context} is read-only
     */
    public static boolean isReadOnly(ContextView context) {
        return context.getOrDefault(KEY, Route.PRIMARY) == Route.READ_ONLY;
    }

    /** The values stored under {@link #KEY}. */
    enum Route {
        PRIMARY, READ_ONLY
    }
}
