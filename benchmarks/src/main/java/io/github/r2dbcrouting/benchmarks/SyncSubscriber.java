package io.github.r2dbcrouting.benchmarks;

import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

/**
 * The least a benchmark needs to run a {@link Mono} to its end: requests everything, keeps
 * nothing, and lets the caller spin until it terminates. With the stub driver every pipeline
 * completes on the calling thread; under contention reactor-pool may hand the connection over
 * on the other thread, hence the volatile flag and the spin instead of an assertion.
 */
public final class SyncSubscriber implements CoreSubscriber<Object> {

    private volatile boolean done;

    private @Nullable Throwable error;

    /**
     * Subscribes to {@code mono} and waits (spinning) until it terminates.
     *
     * @param mono the pipeline
     * @return the subscriber, for a {@code Blackhole}
     * @throws IllegalStateException if the pipeline failed
     */
    public static SyncSubscriber run(Mono<?> mono) {
        SyncSubscriber subscriber = new SyncSubscriber();
        mono.subscribe(subscriber);
        while (!subscriber.done) {
            Thread.onSpinWait();
        }
        Throwable failure = subscriber.error;
        if (failure != null) {
            throw new IllegalStateException("benchmark pipeline failed: " + failure, failure);
        }
        return subscriber;
    }

    @Override
    public void onSubscribe(Subscription subscription) {
        subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(Object value) {
    }

    @Override
    public void onError(Throwable throwable) {
        this.error = throwable;
        this.done = true;
    }

    @Override
    public void onComplete() {
        this.done = true;
    }
}
