package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A single-member etcd (Debian's {@code etcd-server}) on two free loopback ports, its data in
 * {@code <cluster>/etcd}: the distributed configuration store of a {@link PatroniCluster}.
 */
final class Etcd implements AutoCloseable {

    private static final Logger LOG = Loggers.getLogger(Etcd.class);

    static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private static final int PORT_ATTEMPTS = 3;

    private final Daemon daemon;

    private final int clientPort;

    private Etcd(Daemon daemon, int clientPort) {
        this.daemon = daemon;
        this.clientPort = clientPort;
    }

    /** Starts etcd without waiting for it; see {@link #awaitHealthy()}. */
    static Etcd start(Path clusterDir, Path executable) {
        int clientPort = FreePorts.next();
        int peerPort = FreePorts.next();
        String client = "http://" + FreePorts.LOOPBACK + ":" + clientPort;
        String peer = "http://" + FreePorts.LOOPBACK + ":" + peerPort;
        Daemon daemon = Daemon.start("etcd", clusterDir, List.of(executable.toString(), "--name", "etcd", "--data-dir",
                clusterDir.resolve("etcd").toString(), "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "etcd=" + peer,
                "--initial-cluster-state", "new", "--log-level", "warn", "--logger", "zap"), Map.of());
        return new Etcd(daemon, clientPort);
    }

    /** Starts etcd and waits until it answers, retrying on other ports when one was taken meanwhile. */
    static Etcd startHealthy(Path clusterDir, Path executable) {
        for (int attempt = 1;; attempt++) {
            Etcd etcd = start(clusterDir, executable);
            try {
                etcd.awaitHealthy();
                return etcd;
            }
            catch (IllegalStateException ex) {
                String log = etcd.daemon.logTail();
                etcd.close();
                PgProcess.deleteTree(clusterDir.resolve("etcd"));
                if (attempt >= PORT_ATTEMPTS || !log.contains("address already in use")) {
                    throw ex;
                }
                LOG.info("etcd: a port was taken meanwhile, trying others");
            }
        }
    }

    void awaitHealthy() {
        String url = clientUrl() + "/health";
        try {
            PgProcess.await("etcd answering " + url, START_TIMEOUT, () -> {
                if (!daemon.isAlive()) {
                    throw new IllegalStateException("etcd exited: " + daemon.logTail());
                }
                try {
                    Http.Response response = Http.get(url);
                    return response.status() == 200 && response.body().contains("true");
                }
                catch (IOException ex) {
                    return false;
                }
            });
        }
        catch (IllegalStateException ex) {
            throw new IllegalStateException(ex.getMessage() + "\n--- " + daemon.logFile() + " (tail) ---\n"
                    + daemon.logTail(), ex);
        }
    }

    /** {@code 127.0.0.1:PORT}, as Patroni's {@code etcd3.hosts} wants it. */
    String clientAddress() {
        return FreePorts.LOOPBACK + ":" + clientPort;
    }

    String clientUrl() {
        return "http://" + clientAddress();
    }

    long pid() {
        return daemon.pid();
    }

    boolean isAlive() {
        return daemon.isAlive();
    }

    @Override
    public void close() {
        daemon.kill();
    }

    @Override
    public String toString() {
        return "etcd " + clientUrl();
    }

}
