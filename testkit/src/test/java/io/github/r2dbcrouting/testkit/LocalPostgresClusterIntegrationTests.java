package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ValidationDepth;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The {@link PostgresClusterContract} against local PostgreSQL binaries, plus what only they have. */
class LocalPostgresClusterIntegrationTests extends PostgresClusterContract {

    @Override
    @Nullable String unavailable() {
        String problem = BackendSelection.localProblem();
        return problem == null ? null : "no local PostgreSQL binaries: " + problem;
    }

    @Override
    Backend backend() {
        return Backend.LOCAL;
    }

    @Override
    String expectedHost() {
        return "127.0.0.1";
    }

    @Override
    Runnable goneAfterKill(PostgresNode node) {
        List<Long> processes = PgProcess.tree(node.pid());
        assertTrue(processes.size() > 1, "a postmaster has children: " + processes);
        return () -> assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
    }

    @Override
    Runnable nothingLeftAfterClose(PostgresCluster cluster) {
        Path dir = cluster.directory();
        assertTrue(dir.getFileName().toString().startsWith("r2dbc-routing-testkit-"), dir.toString());
        List<Long> processes = cluster.nodes().stream().flatMap(n -> PgProcess.tree(n.pid()).stream()).toList();
        return () -> {
            assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
            assertFalse(Files.exists(dir), dir + " still exists");
        };
    }

    @Test
    void shouldCountWhatConnectionsOpenedThroughAStatementCounterSend() {
        StatementCounter counter = new StatementCounter(shared().primary().connectionFactory());
        Map<String, Long> before = counter.snapshot();
        List<Integer> rows = Flux.usingWhen(Mono.from(counter.create()),
                connection -> Mono.from(connection.beginTransaction())
                    .thenMany(Flux.concat(connection.createStatement("SELECT 1").execute(),
                            connection.createStatement("SELECT 1").execute(), connection.createStatement("SELECT 2").execute()))
                    .concatMap(result -> result.map((row, metadata) -> row.get(0, Integer.class)))
                    .concatWith(Mono.from(connection.commitTransaction()).then(Mono.<Integer>empty()))
                    .concatWith(Mono.from(connection.validate(ValidationDepth.REMOTE)).then(Mono.<Integer>empty())),
                Connection::close)
            .collectList()
            .block(Duration.ofSeconds(10));
        Connection counted = Mono.from(counter.create()).block(Duration.ofSeconds(10));
        try {
            assertTrue(counted.equals(counted), "a counted connection equals itself");
        }
        finally {
            Mono.from(counted.close()).block(Duration.ofSeconds(10));
        }

        assertEquals(List.of(1, 1, 2), rows, "what the server answered through the counter");
        assertEquals(Map.of("SELECT 1", 2L, "SELECT 2", 1L, "call: beginTransaction", 1L, "call: commitTransaction", 1L,
                "call: validate", 1L), StatementCounter.since(before, counter.snapshot()));
        assertEquals(3, counter.count(sql -> sql.startsWith("SELECT")));
        assertEquals(0, counter.count("INSERT"::equals));
    }

    @Test
    void shouldReapClusterOfDeadJvm() throws Exception {
        try (PostgresCluster cluster = start(0)) {
            Path dir = cluster.directory();
            List<Long> processes = PgProcess.tree(cluster.primary().pid());
            Process exited = new ProcessBuilder("true").start();
            exited.waitFor();
            Files.writeString(dir.resolve(StaleClusterReaper.OWNER_FILE), Long.toString(exited.pid()));
            StaleClusterReaper.reap(dir.getParent());
            assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
            assertFalse(Files.exists(dir), dir + " still exists");
        } // closing a cluster whose node and directory are gone must not throw
    }

    @Test
    void shouldStartLocalClusterWithoutLoadingAnyTestcontainersClass() throws Exception {
        assumeTrue(!"containers".equalsIgnoreCase(System.getenv(PostgresCluster.BACKEND_ENV))
                && System.getProperty(PostgresCluster.BACKEND_PROPERTY) == null, "a backend is forced");
        HidingClassLoader loader = new HidingClassLoader(getClass().getClassLoader());
        Class<?> clusterClass = loader.loadClass(PostgresCluster.class.getName());
        assertEquals(loader, clusterClass.getClassLoader());
        Object builder = clusterClass.getMethod("builder").invoke(null);
        builder = builder.getClass().getMethod("replicas", int.class).invoke(builder, 0);
        try (AutoCloseable cluster = (AutoCloseable) builder.getClass().getMethod("build").invoke(builder)) {
            assertEquals("LOCAL", clusterClass.getMethod("backend").invoke(cluster).toString());
        }
        assertEquals(List.of(), loader.hidden, "the local backend asked for container classes");
    }

    /** Defines the testkit's classes itself and hides Testcontainers and docker-java from them. */
    private static final class HidingClassLoader extends ClassLoader {

        final List<String> hidden = new CopyOnWriteArrayList<>();

        HidingClassLoader(ClassLoader parent) {
            super(parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (name.startsWith("org.testcontainers.") || name.startsWith("com.github.dockerjava.")) {
                hidden.add(name);
                throw new ClassNotFoundException(name + " is hidden from the local backend");
            }
            if (!name.startsWith(PostgresCluster.class.getPackageName() + ".")) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> loaded = findLoadedClass(name);
                if (loaded == null) {
                    try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
                        if (in == null) {
                            throw new ClassNotFoundException(name);
                        }
                        byte[] bytes = in.readAllBytes();
                        loaded = defineClass(name, bytes, 0, bytes.length);
                    }
                    catch (IOException ex) {
                        throw new ClassNotFoundException(name, ex);
                    }
                }
                return loaded;
            }
        }

    }

    @Test
    void shouldChooseLocalBinariesWhenNothingForcesABackend() {
        assertEquals(Backend.LOCAL, BackendSelection.select(Backend.AUTO, null, null, BackendSelection::localProblem,
                () -> {
                    throw new AssertionError("the container engine must not be asked while local binaries exist");
                }));
    }

}
