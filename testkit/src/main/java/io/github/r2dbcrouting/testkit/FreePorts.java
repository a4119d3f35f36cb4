package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Hands out TCP ports that were free on the loopback interface, never the same one twice per JVM. */
final class FreePorts {

    static final String LOOPBACK = "127.0.0.1";

    /** Ports this JVM handed out, so two nodes started in parallel never get the same one. */
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    /** A port that was free on 127.0.0.1 a moment ago and that this JVM did not hand out before. */
    static int next() {
        for (int i = 0; i < 100; i++) {
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(false);
                socket.bind(new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0));
                int candidate = socket.getLocalPort();
                if (HANDED_OUT.add(candidate)) {
                    return candidate;
                }
            }
            catch (IOException ex) {
                throw new IllegalStateException("could not find a free port on " + LOOPBACK + ": " + ex.getMessage(), ex);
            }
        }
        throw new IllegalStateException("could not find a free port on " + LOOPBACK + " that was not used before");
    }

}
