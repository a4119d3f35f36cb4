package io.github.r2dbcrouting;

import java.time.Duration;

import reactor.core.scheduler.Schedulers;

/** Node pools for tests that build nodes by hand: the given settings, failures answered with the error itself. */
final class TestPools {

    private TestPools() {
    }

    static NodePools with(PoolSettings settings) {
        return new NodePools("test", settings, Schedulers.parallel(), Duration.ofSeconds(1), NodePools.Failures.NONE);
    }

    static NodePools defaults() {
        return with(PoolSettings.defaults());
    }
}
