package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.pool.InstrumentedPool;
import reactor.pool.PoolBuilder;
import reactor.pool.PooledRef;

/**
 * reactor-pool 1.2.8 returns one resource's permit twice when a pool is disposed while a release
 * recycles the resource, through its own API alone (no routing code, no driver).
 *
 * <p>{@code SimpleDequePool.maybeRecycleAndDrain(oldSlot, actual)} puts a new slot for the released
 * resource in the idle queue, calls {@code actual.onComplete()} (the releaser's continuation) and
 * {@code drain()} (deliveries to waiting acquisitions), and only then destroys that new slot if the
 * pool is disposed by now: {@code isDisposed() && slot.markDestroy()}. {@code markDestroy()} does
 * not check that the slot is still idle: meanwhile it can have been lent, released and recycled
 * into a third slot for the same resource. Its destruction returns the resource's permit while the
 * third slot still stands for it, and the third slot's destruction (its holder's
 * {@code invalidate()}, or the disposal of an idle one) returns it again:
 * {@code IllegalArgumentException: Too many permits returned} once every other permit is back, which
 * is what the MariaDB soak saw from {@code PooledConnection}'s invalidation in a retired pool.
 *
 * <p>This test pins the reactor-pool behaviour: it fails once a reactor-pool release fixes it, and
 * then the error {@code PooledConnection#completing} swallows can no longer come from this race.
 */
class ReactorPoolPermitTests {

    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void shouldReturnAPermitTwiceWhenThePoolIsDisposedWhileAReleaseRecyclesTheResource() {
        AtomicInteger destroyed = new AtomicInteger();
        InstrumentedPool<Object> pool = PoolBuilder.from(Mono.fromSupplier(Object::new))
            .destroyHandler(resource -> Mono.fromRunnable(destroyed::incrementAndGet))
            .sizeBetween(0, 1)
            .buildPool();
        PooledRef<Object> first = pool.acquire().block(WAIT);
        assertThat(first).isNotNull();
        AtomicReference<PooledRef<Object>> third = new AtomicReference<>();

        // inside maybeRecycleAndDrain, between the recycled slot's offer and its isDisposed() check
        first.release().subscribe(null, null, () -> {
            PooledRef<Object> second = pool.acquire().block(WAIT);
            assertThat(second).isNotNull();
            assertThat(second.poolable()).as("the recycled slot").isSameAs(first.poolable());
            second.release().block(WAIT);
            third.set(pool.acquire().block(WAIT));
            pool.disposeLater().block(WAIT);
        });

        // the second slot, released, was destroyed after the disposal: the resource's permit is back...
        assertThat(destroyed).as("destroyed while the third slot still holds it").hasValue(1);
        assertThat(pool.metrics().allocatedSize()).isZero();
        // ...and the third slot's holder, invalidating it (its server is gone), returns it a second time
        assertThatThrownBy(() -> third.get().invalidate().block(WAIT))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("Too many permits returned: returned=1, would bring to 2/1");
    }
}
