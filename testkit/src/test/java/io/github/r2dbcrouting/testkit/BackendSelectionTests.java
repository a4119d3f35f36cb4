package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class BackendSelectionTests {

    private static final Supplier<@Nullable String> FOUND = () -> null;

    private static final Supplier<@Nullable String> NOT_ASKED = () -> {
        throw new AssertionError("must not be asked");
    };

    @Test
    void shouldPreferLocalBinariesWithoutAskingTheEngine() {
        assertEquals(Backend.LOCAL, BackendSelection.select(Backend.AUTO, null, null, FOUND, NOT_ASKED));
    }

    @Test
    void shouldFallBackToContainersWithoutLocalBinaries() {
        assertEquals(Backend.CONTAINERS,
                BackendSelection.select(Backend.AUTO, null, null, () -> "no initdb", FOUND));
    }

    @Test
    void shouldNameBothWaysOutWhenNeitherBackendCanRun() {
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> BackendSelection.select(Backend.AUTO, null, "auto", () -> "no initdb in [/usr/lib]",
                        () -> "no engine at unix:///x"));
        assertEquals("No PostgreSQL to start a test cluster with. Local binaries: no initdb in [/usr/lib]. "
                + "Container engine: no engine at unix:///x. To fix, install PostgreSQL server binaries "
                + "(e.g. `apt-get install postgresql`) or set PG_BIN to the directory that holds initdb, or provide a "
                + "Docker-compatible container engine for Testcontainers (Docker, or podman's Docker API socket named "
                + "by DOCKER_HOST).", ex.getMessage());
    }

    @Test
    void shouldLetPropertyWinOverEnvironmentAndBuilderWinOverBoth() {
        assertEquals(Backend.CONTAINERS,
                BackendSelection.select(Backend.AUTO, " Containers ", "local", NOT_ASKED, FOUND));
        assertEquals(Backend.LOCAL, BackendSelection.select(Backend.AUTO, null, "local", NOT_ASKED, NOT_ASKED));
        assertEquals(Backend.LOCAL, BackendSelection.select(Backend.LOCAL, "containers", "containers", NOT_ASKED,
                NOT_ASKED));
        assertEquals(Backend.CONTAINERS, BackendSelection.select(Backend.CONTAINERS, "local", null, NOT_ASKED, FOUND));
        assertEquals(Backend.LOCAL, BackendSelection.select(Backend.AUTO, "auto", "containers", FOUND, NOT_ASKED));
    }

    @Test
    void shouldSayWhoForcedContainersWhenNoEngineAnswers() {
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> BackendSelection.select(Backend.AUTO, null, "containers", FOUND, () -> "nothing at DOCKER_HOST"));
        assertEquals("the containers backend was chosen by R2DBC_ROUTING_TESTKIT_BACKEND, but no container engine "
                + "answered: nothing at DOCKER_HOST; provide a Docker-compatible engine (Docker, or podman's Docker API "
                + "socket named by DOCKER_HOST) or choose the local backend", ex.getMessage());
    }

    @Test
    void shouldRejectUnknownBackendNamingTheSetting() {
        IllegalArgumentException property = assertThrows(IllegalArgumentException.class,
                () -> BackendSelection.select(Backend.AUTO, "docker", null, FOUND, FOUND));
        assertEquals("-Dr2dbc.routing.testkit.backend must be one of local, containers, auto; was 'docker'",
                property.getMessage());
        IllegalArgumentException env = assertThrows(IllegalArgumentException.class,
                () -> BackendSelection.select(Backend.AUTO, "", "podman", FOUND, FOUND));
        assertEquals("R2DBC_ROUTING_TESTKIT_BACKEND must be one of local, containers, auto; was 'podman'",
                env.getMessage());
    }

    @Test
    void shouldRejectBlankImage() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> PostgresCluster.builder().image(" "));
        assertEquals("image must not be blank, was ' '", ex.getMessage());
    }

}
