package io.github.r2dbcrouting;

import java.util.function.Function;

import io.r2dbc.spi.Connection;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoOperator;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * A route's acquisition operator: lends the connection its pool hands out, and on error resumes
 * with what the route does then (names the node, tries the next replica, ejects the primary).
 * One operator where {@code onErrorResume} used to be, so lending costs the hot path no
 * subscriber of its own; the one it has is half the size of {@code onErrorResume}'s.
 * What a resumed acquisition emits is passed on as it is: it comes from another route, lent there.
 */
final class Lending extends MonoOperator<Connection, Connection> {

    private final Function<Connection, Connection> lend;

    private final Function<Throwable, Mono<Connection>> onError;

    Lending(Mono<Connection> source, Function<Connection, Connection> lend, Function<Throwable, Mono<Connection>> onError) {
        super(source);
        this.lend = lend;
        this.onError = onError;
    }

    @Override
    public void subscribe(CoreSubscriber<? super Connection> actual) {
        this.source.subscribe(new LendingSubscriber(actual, this));
    }

    /**
     * Subscribes to the pool's acquisition, then at most once to the error's resumption. Requests
     * and a cancel reach whichever is current: each side writes its own flag before it reads the
     * other's, so neither is lost when the switch races them.
     */
    static final class LendingSubscriber implements CoreSubscriber<Connection>, Subscription {

        private final CoreSubscriber<? super Connection> actual;

        private final Lending parent;

        private volatile Subscription upstream = Operators.emptySubscription();

        private volatile boolean requested;

        private volatile boolean cancelled;

        private boolean resumed;

        LendingSubscriber(CoreSubscriber<? super Connection> actual, Lending parent) {
            this.actual = actual;
            this.parent = parent;
        }

        @Override
        public Context currentContext() {
            return this.actual.currentContext();
        }

        @Override
        public void onSubscribe(Subscription s) {
            this.upstream = s;
            if (!this.resumed) {
                this.actual.onSubscribe(this);
                return;
            }
            if (this.cancelled) {
                s.cancel();
            } else if (this.requested) {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(Connection connection) {
            if (this.resumed) {
                this.actual.onNext(connection);
                return;
            }
            Connection lent;
            try {
                lent = this.parent.lend.apply(connection);
            } catch (Throwable error) {
                Mono.from(connection.close()).subscribe(null, ignored -> { });
                this.actual.onError(Operators.onOperatorError(error, this.actual.currentContext()));
                return;
            }
            this.actual.onNext(lent);
        }

        @Override
        public void onError(Throwable error) {
            if (this.resumed) {
                this.actual.onError(error);
                return;
            }
            this.resumed = true;
            Mono<Connection> next;
            try {
                next = this.parent.onError.apply(error);
            } catch (Throwable failure) {
                this.actual.onError(Exceptions.addSuppressed(Operators.onOperatorError(failure, this.actual.currentContext()), error));
                return;
            }
            next.subscribe(this);
        }

        @Override
        public void onComplete() {
            this.actual.onComplete();
        }

        @Override
        public void request(long n) {
            if (Operators.validate(n)) {
                this.requested = true;
                this.upstream.request(n);
            }
        }

        @Override
        public void cancel() {
            this.cancelled = true;
            this.upstream.cancel();
        }
    }
}
