package io.github.r2dbcrouting.spring;

import java.util.function.Function;

import io.github.r2dbcrouting.Routing;
import io.r2dbc.spi.ConnectionFactory;
import org.springframework.r2dbc.connection.R2dbcTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.reactive.TransactionSynchronizationManager;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * An {@link R2dbcTransactionManager} that sends read-only transactions to a replica:
 * {@code @Transactional(readOnly = true)} and a {@code TransactionalOperator} with a read-only
 * definition get their connection with {@link Routing#readOnly()} in the context, so the whole
 * transaction runs on one healthy replica. Read-write transactions (and code without a
 * transaction) go to the primary. A routing key the caller put in the context itself
 * ({@code Routing.primary()} or {@code Routing.readOnly()}) wins over the transaction's flag.
 *
 * <p>Why {@code doBegin}: {@code R2dbcTransactionManager.doBegin(synchronizationManager,
 * transaction, definition)} is where the transaction's connection is acquired
 * ({@code Mono.from(connectionFactory.create())} inside a {@code Mono.defer}) and the only place
 * where the {@link TransactionDefinition} and that acquisition meet. The synchronization's
 * "current transaction read-only" flag is only set afterwards
 * ({@code AbstractReactiveTransactionManager.prepareSynchronization} runs in {@code doOnSuccess}
 * of {@code doBegin}), so a {@code ConnectionFactory} cannot learn the flag from the transaction
 * context at acquisition time. Writing the key into the context of the Mono that {@code doBegin}
 * returns puts it in the subscriber context the routing factory's {@code create()} reads.
 *
 * <p>With {@link #setEnforceReadOnly(boolean) enforceReadOnly} (on by default here), PostgreSQL
 * also gets {@code SET TRANSACTION READ ONLY}, so a write slipped into a read-only transaction
 * fails on the fallback primary too.
 */
public class RoutingR2dbcTransactionManager extends R2dbcTransactionManager {

    /**
     * Adds {@link Routing#readOnly()} unless the context already holds a routing key. Written
     * against the public API only: applying {@link Routing#primary()} to a context that has a
     * routing key replaces that key and keeps the size; to one without, it adds an entry.
     */
    private static final Function<Context, Context> READ_ONLY_UNLESS_SET = context -> {
        if (Routing.hasRoute(context)) {
            return context;
        }
        return Routing.readOnly().apply(context);
    };

    /**
     * @param connectionFactory the routing factory (or any factory: without routing, the key is
     *                          simply not read)
     */
    public RoutingR2dbcTransactionManager(ConnectionFactory connectionFactory) {
        super(connectionFactory);
        setEnforceReadOnly(true);
    }

    @Override
    protected Mono<Void> doBegin(TransactionSynchronizationManager synchronizationManager, Object transaction,
                                 TransactionDefinition definition) {
        Mono<Void> begin = super.doBegin(synchronizationManager, transaction, definition);
        return definition.isReadOnly() ? begin.contextWrite(READ_ONLY_UNLESS_SET) : begin;
    }
}
