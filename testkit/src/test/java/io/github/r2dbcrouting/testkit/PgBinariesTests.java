package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgBinariesTests {

    @TempDir
    Path tmp;

    @Test
    void shouldSayWhatToInstallWhenNoBinariesAreFound() {
        Path nowhere = tmp.resolve("nowhere");
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> PgBinaries.locate(null, null, List.of(), nowhere));
        assertTrue(ex.getMessage().startsWith("No PostgreSQL server binaries found (looked for initdb in [" + nowhere),
                ex.getMessage());
        assertTrue(ex.getMessage().endsWith("install PostgreSQL server binaries, e.g. `apt-get install postgresql`, "
                + "or set PG_BIN to the directory that holds initdb"), ex.getMessage());
    }

    @Test
    void shouldRejectPgBinWithoutInitdbInsteadOfFallingBack() throws Exception {
        Path good = fakeBin("good");
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> PgBinaries.locate("/bogus/pg/bin", good, List.of(good), good));
        assertTrue(ex.getMessage().contains("'/bogus/pg/bin', but that directory holds no executable initdb"),
                ex.getMessage());
        assertTrue(ex.getMessage().contains("set PG_BIN to the directory that holds initdb"), ex.getMessage());
    }

    @Test
    void shouldPreferPgBinThenPgConfigThenNewestDebianDirectory() throws Exception {
        Path explicit = fakeBin("explicit");
        Path pgConfig = fakeBin("pgconfig");
        Path debian = fakeBin("debian");
        Path fallback = tmp.resolve("fallback");
        assertEquals(explicit, PgBinaries.locate(explicit.toString(), pgConfig, List.of(debian), fallback));
        assertEquals(pgConfig, PgBinaries.locate(null, pgConfig, List.of(debian), fallback));
        assertEquals(debian, PgBinaries.locate(" ", tmp.resolve("missing"), List.of(debian), fallback));
    }

    @Test
    void shouldListDebianVersionsNewestFirst() throws Exception {
        Path root = tmp.resolve("postgresql");
        for (String version : List.of("9.6", "15", "13", "notaversion")) {
            Files.createDirectories(root.resolve(version).resolve("bin"));
        }
        assertEquals(List.of(root.resolve("15/bin"), root.resolve("13/bin"), root.resolve("9.6/bin")),
                PgBinaries.debianBinDirs(root));
        assertEquals(List.of(), PgBinaries.debianBinDirs(tmp.resolve("absent")));
    }

    private Path fakeBin(String name) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Path initdb = Files.createFile(dir.resolve("initdb"));
        assertTrue(initdb.toFile().setExecutable(true));
        return dir;
    }

}
