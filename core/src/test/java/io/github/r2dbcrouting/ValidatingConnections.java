package io.github.r2dbcrouting;

import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.IsolationLevel;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * For pool-logic tests only: connections that validate and close and do nothing else. Like a
 * driver's, a closed connection fails its local validation; while {@link #broken} is set every
 * connection fails its validation and its close, like a driver's after the server dropped it.
 */
final class ValidatingConnections implements ConnectionFactory {

    final AtomicBoolean broken = new AtomicBoolean();

    final AtomicInteger closes = new AtomicInteger();

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.fromSupplier(() -> {
            AtomicBoolean closed = new AtomicBoolean();
            return (Connection) Proxy.newProxyInstance(ValidatingConnections.class.getClassLoader(),
                new Class<?>[] {Connection.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "validate" -> Mono.fromSupplier(() -> !closed.get() && !this.broken.get());
                    case "isAutoCommit" -> true;
                    case "getTransactionIsolationLevel" -> IsolationLevel.READ_COMMITTED;
                    case "close" -> Mono.defer(() -> {
                        this.closes.incrementAndGet();
                        if (this.broken.get()) {
                            return Mono.error(new IllegalStateException("connection closed by the server"));
                        }
                        closed.set(true);
                        return Mono.empty();
                    });
                    case "toString" -> "stub connection";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        });
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return () -> "Stub";
    }
}
