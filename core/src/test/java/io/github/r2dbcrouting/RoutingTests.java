package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.context.Context;

class RoutingTests {

    @Test
    void shouldReadNoKeyAsPrimary() {
        assertThat(Routing.isReadOnly(Context.empty())).isFalse();
    }

    @Test
    void shouldLetTheInnermostContextWriteWin() {
        Mono<Boolean> probe = Mono.deferContextual(context -> Mono.just(Routing.isReadOnly(context)));
        StepVerifier.create(probe.contextWrite(Routing.primary()).contextWrite(Routing.readOnly()))
            .expectNext(false)
            .verifyComplete();
        StepVerifier.create(probe.contextWrite(Routing.readOnly()).contextWrite(Routing.primary()))
            .expectNext(true)
            .verifyComplete();
    }

    @Test
    void shouldTellWhetherAContextHoldsARoutingKey() {
        assertThat(Routing.hasRoute(Context.empty())).isFalse();
        assertThat(Routing.hasRoute(Context.of("other", 1))).isFalse();
        assertThat(Routing.hasRoute(Routing.primary().apply(Context.of("other", 1)))).isTrue();
        assertThat(Routing.hasRoute(Routing.readOnly().apply(Context.empty()))).isTrue();
        assertThat(Routing.hasRoute(Routing.readOnly(java.time.Duration.ofSeconds(1)).apply(Context.empty()))).isTrue();
        assertThat(Routing.isReadOnly(Routing.readOnly(java.time.Duration.ofSeconds(1)).apply(Context.empty()))).isTrue();
    }
}
