package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import io.github.r2dbcrouting.Routing;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.Test;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.reactive.TransactionalOperator;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.context.Context;

/**
 * What the transaction manager puts in the context of the connection acquisition, seen by a
 * factory that records {@link Routing#isReadOnly} and then refuses the connection.
 */
class RoutingR2dbcTransactionManagerTests {

    private final List<Boolean> readOnlyAtAcquisition = new ArrayList<>();

    private final RoutingR2dbcTransactionManager manager = new RoutingR2dbcTransactionManager(new Recording());

    @Test
    void shouldAcquireReadOnlyTransactionsWithTheReadOnlyKey() {
        begin(true, Function.identity());
        assertThat(this.readOnlyAtAcquisition).containsExactly(true);
    }

    @Test
    void shouldAcquireReadWriteTransactionsWithoutKey() {
        begin(false, Function.identity());
        assertThat(this.readOnlyAtAcquisition).containsExactly(false);
    }

    @Test
    void shouldLetAnExplicitPrimaryKeyWinOverAReadOnlyTransaction() {
        begin(true, Routing.primary());
        assertThat(this.readOnlyAtAcquisition).containsExactly(false);
    }

    @Test
    void shouldLetAnExplicitReadOnlyKeyWinOverAReadWriteTransaction() {
        begin(false, Routing.readOnly());
        assertThat(this.readOnlyAtAcquisition).containsExactly(true);
    }

    @Test
    void shouldEnforceReadOnlyOnTheDatabase() {
        assertThat(this.manager.isEnforceReadOnly()).isTrue();
    }

    private void begin(boolean readOnly, Function<Context, Context> callerContext) {
        DefaultTransactionDefinition definition = new DefaultTransactionDefinition();
        definition.setReadOnly(readOnly);
        Mono<String> work = TransactionalOperator.create(this.manager, definition).transactional(Mono.just("work"));
        StepVerifier.create(work.contextWrite(callerContext))
            .expectError(CannotCreateTransactionException.class)
            .verify();
    }

    private final class Recording implements ConnectionFactory {

        @Override
        public Mono<Connection> create() {
            return Mono.deferContextual(context -> {
                RoutingR2dbcTransactionManagerTests.this.readOnlyAtAcquisition.add(Routing.isReadOnly(context));
                return Mono.error(new IllegalStateException("no database in a unit test"));
            });
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "recording";
        }
    }
}
