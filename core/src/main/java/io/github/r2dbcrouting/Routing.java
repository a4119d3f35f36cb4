package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.function.Function;

import org.reactivestreams.Publisher;

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

    /** The context key of a {@link ConsistencySession}. */
    static final Object SESSION_KEY = new Object() {
        @Override
        public String toString() {
            return "io.github.r2dbcrouting.Routing.SESSION_KEY";
        }
    };

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
     * Routes the pipeline to a replica whose replication lag is at most {@code maxLag}, as the
     * last probe measured it (so the bound holds to within one probe interval), or to the
     * fallback when none is. Bounded staleness: for reads that may be a little old, but not very.
     *
     * @param maxLag the most replay lag the pipeline accepts, not negative
     * @return a function for {@code contextWrite}
     * @throws IllegalArgumentException if {@code maxLag} is negative
     */
    public static Function<Context, Context> readOnly(Duration maxLag) {
        Bounded bounded = new Bounded(Checks.notNegative("maxLag", maxLag));
        return context -> context.put(KEY, bounded);
    }

    /**
     * Carries a {@link ConsistencySession}: writes under it record their WAL position in it, and
     * read-only pipelines under it see those writes (read-your-writes). Combine with a route:
     * {@code .contextWrite(Routing.readOnly()).contextWrite(Routing.session(session))}.
     *
     * @param session the end user's or request chain's session
     * @return a function for {@code contextWrite}
     */
    public static Function<Context, Context> session(ConsistencySession session) {
        java.util.Objects.requireNonNull(session, "session must not be null");
        return context -> context.put(SESSION_KEY, session);
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
     * An operator for read pipelines that re-runs the pipeline once, on another node, when it
     * failed with a connection-level error (connection closed, reset or timed out) before it
     * emitted anything. Apply it inside the read-only key:
     *
     * <pre>{@code
     * client.sql("SELECT ...").fetch().all()
     *       .transform(Routing.retryReads())
     *       .contextWrite(Routing.readOnly());
     * }</pre>
     *
     * <p>It does not retry: a pipeline that already emitted a row (the retry would emit rows
     * twice); an SQL error such as a syntax error or a constraint violation (it fails the same
     * way on every node); a pipeline not routed read-only (a write whose connection died may have
     * committed, so running it again is not safe); or when no node can serve the read at all.
     * The retry avoids the node that failed; if none is left it goes to the fallback.
     *
     * @param <T> the element type
     * @return a function for {@code Flux.transform} or {@code Mono.transform}
     */
    public static <T> Function<Publisher<T>, Publisher<T>> retryReads() {
        return ReadRetry::apply;
    }

    /**
     * Tells whether a context holds a routing key at all, so that code adding a default route
     * (a transaction manager, a web filter) can leave an explicit one alone.
     *
     * @param context a pipeline's context
     * @return {@code true} when {@link #readOnly()}, {@link #readOnly(Duration)} or
     *         {@link #primary()} was written into {@code context}
     */
    public static boolean hasRoute(ContextView context) {
        return context.hasKey(KEY);
    }

    /**
     * Tells whether a context routes to replicas.
     *
     * @param context a pipeline's context
     * @return {@code true} when the innermost routing key in {@code context} is read-only
     */
    public static boolean isReadOnly(ContextView context) {
        Object route = context.getOrDefault(KEY, Route.PRIMARY);
        return route == Route.READ_ONLY || route instanceof Bounded;
    }

    /** The values stored under {@link #KEY}, with {@link Bounded}. */
    enum Route {
        PRIMARY, READ_ONLY
    }

    /** A read-only route with a lag bound. */
    static final class Bounded {

        final Duration maxLag;

        Bounded(Duration maxLag) {
            this.maxLag = maxLag;
        }

        @Override
        public String toString() {
            return "readOnly(maxLag=" + this.maxLag + ")";
        }
    }
}
