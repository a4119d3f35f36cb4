package io.github.r2dbcrouting.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;

import com.github.dockerjava.api.DockerClient;
import org.jspecify.annotations.Nullable;
import org.testcontainers.DockerClientFactory;

/**
 * The container engine, as Testcontainers finds it ({@code DOCKER_HOST}, the Docker socket,
 * Docker Desktop, {@code ~/.testcontainers.properties}). The first class of the containers
 * backend to load, and only when that backend is considered.
 */
final class ContainerEngine {

    private static final Object LOCK = new Object();

    private static volatile @Nullable Answer answer;

    private ContainerEngine() {
    }

    private record Answer(@Nullable String problem) {
    }

    /** Null when an engine answers, else why none does; asked once per JVM. */
    static @Nullable String problem() {
        Answer known = answer;
        if (known == null) {
            synchronized (LOCK) {
                known = answer;
                if (known == null) {
                    known = new Answer(ask());
                    answer = known;
                }
            }
        }
        return known.problem();
    }

    private static @Nullable String ask() {
        try {
            if (DockerClientFactory.instance().isDockerAvailable()) {
                return null;
            }
            return "Testcontainers found no working Docker environment (DOCKER_HOST="
                    + (System.getenv("DOCKER_HOST") == null ? "unset" : "'" + System.getenv("DOCKER_HOST") + "'") + ")";
        }
        catch (RuntimeException | LinkageError ex) {
            return "Testcontainers could not be asked for a Docker environment: " + ex;
        }
    }

    static DockerClient client() {
        return DockerClientFactory.instance().client();
    }

    /**
     * The address tests connect to: {@code 127.0.0.1} when the engine publishes ports on this
     * machine's loopback (Testcontainers' host is a loopback name, e.g. {@code localhost} or
     * {@code TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1}), else Testcontainers' host.
     */
    static String host() {
        String host = DockerClientFactory.instance().dockerHostIpAddress();
        return isLoopback(host) ? FreePorts.LOOPBACK : host;
    }

    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        }
        catch (UnknownHostException ex) {
            return false;
        }
    }

}
