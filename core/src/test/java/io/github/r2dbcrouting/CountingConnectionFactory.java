package io.github.r2dbcrouting;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** A real driver factory that counts the statements its connections create whose SQL matches: what a server log would show. */
final class CountingConnectionFactory implements ConnectionFactory {

    private final ConnectionFactory delegate;

    private final Predicate<String> matching;

    private final LongAdder count = new LongAdder();

    CountingConnectionFactory(ConnectionFactory delegate, Predicate<String> matching) {
        this.delegate = delegate;
        this.matching = matching;
    }

    long count() {
        return this.count.sum();
    }

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.from(this.delegate.create()).map(this::counting);
    }

    private Connection counting(Connection connection) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class}, (proxy, method, args) -> {
            if (method.getName().equals("createStatement") && args != null && args.length == 1 && this.matching.test((String) args[0])) {
                this.count.increment();
            }
            try {
                return method.invoke(connection, args);
            } catch (InvocationTargetException error) {
                throw error.getCause();
            }
        });
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return this.delegate.getMetadata();
    }
}
