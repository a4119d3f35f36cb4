package io.github.r2dbcrouting;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** For pure-logic tests only: a factory that names itself and never connects. */
final class StubConnectionFactory implements ConnectionFactory {

    private final String label;

    StubConnectionFactory(String label) {
        this.label = label;
    }

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.error(new UnsupportedOperationException("stub '" + this.label + "' does not connect"));
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return () -> "Stub";
    }

    @Override
    public String toString() {
        return "StubConnectionFactory{" + this.label + "}";
    }
}
