package io.github.r2dbcrouting;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.ClusterExtension;

/**
 * The pool half of the leak check after every integration test (no pooled connection held, none
 * lent from a retired pool); the server-session half is the testkit's {@link ClusterExtension}'s.
 */
final class ClusterFixture {

    private ClusterFixture() {
    }

    /**
     * Has {@code extension} close {@code factory} after the current test, checking its pools first
     * ({@link #closeAndCheckNoPoolLeak}); the extension's session check follows.
     */
    static RoutingConnectionFactory closeAfterTest(ClusterExtension<?> extension, RoutingConnectionFactory factory) {
        return extension.closeAfterTest(factory, ClusterFixture::closeAndCheckNoPoolLeak);
    }

    /**
     * Waits until no node's pool lends a connection and no retired pool is left, then closes the
     * factory and checks that every pool is still empty.
     */
    static void closeAndCheckNoPoolLeak(RoutingConnectionFactory factory) {
        for (NodeSnapshot node : factory.nodes()) {
            Await.until("no pooled connection acquired on '" + node.name() + "'", Duration.ofSeconds(10),
                () -> factory.nodes().stream().filter(n -> n.name().equals(node.name())).allMatch(n -> n.acquired() == 0),
                () -> factory.nodes().toString());
        }
        Await.until("no connection lent from a retired pool", Duration.ofSeconds(10), () -> factory.retiredPools().isEmpty(),
            () -> factory.retiredPools().toString());
        factory.close().block(Duration.ofSeconds(30));
        for (NodeSnapshot node : factory.nodes()) {
            assertEquals(0, node.acquired(), "acquired connections on '" + node.name() + "' after close");
        }
    }
}
