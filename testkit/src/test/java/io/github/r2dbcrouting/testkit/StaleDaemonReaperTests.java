package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** What a killed JVM leaves of a Patroni cluster (etcd, Patroni: daemons with pid files) is reaped. */
class StaleDaemonReaperTests {

    @Test
    void shouldKillDaemonsOfDirectoryWhoseJvmIsGone() throws Exception {
        Path dir = StaleClusterReaper.createOwnedDirectory("patroni-");
        // a stand-in daemon whose command line names the directory, as etcd's and Patroni's do
        Daemon daemon = Daemon.start("patroni", dir, List.of("sh", "-c", "sleep 300 & wait", dir.resolve("x").toString()),
                Map.of());
        try {
            List<Long> processes = PgProcess.tree(daemon.pid());
            Await.until("the stand-in daemon's child", Duration.ofSeconds(10),
                    () -> PgProcess.tree(daemon.pid()).size() == 2);
            List<Long> tree = PgProcess.tree(daemon.pid());
            assertTrue(Files.exists(dir.resolve("patroni" + Daemon.PID_SUFFIX)));
            Process exited = new ProcessBuilder("true").start();
            exited.waitFor();
            Files.writeString(dir.resolve(StaleClusterReaper.OWNER_FILE), Long.toString(exited.pid()));

            StaleClusterReaper.reap(dir.getParent());

            Await.until("daemon " + tree + " gone", Duration.ofSeconds(10),
                    () -> tree.stream().noneMatch(PgProcess::isAlive));
            assertTrue(processes.stream().noneMatch(PgProcess::isAlive));
            assertFalse(Files.exists(dir), dir + " still exists");
        }
        finally {
            daemon.kill();
            PgProcess.deleteTree(dir);
        }
    }

    @Test
    void shouldLeaveDaemonOfLiveJvmAlone() throws Exception {
        Path dir = StaleClusterReaper.createOwnedDirectory("patroni-");
        Daemon daemon = Daemon.start("etcd", dir, List.of("sh", "-c", "sleep 300", dir.resolve("x").toString()),
                Map.of());
        try {
            StaleClusterReaper.reap(dir.getParent());
            assertTrue(daemon.isAlive(), "this JVM's daemon was killed");
            assertTrue(Files.exists(dir));
        }
        finally {
            daemon.kill();
            PgProcess.deleteTree(dir);
        }
    }

}
