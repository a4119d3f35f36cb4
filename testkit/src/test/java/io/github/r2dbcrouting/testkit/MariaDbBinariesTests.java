package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MariaDbBinariesTests {

    @TempDir
    Path tmp;

    @Test
    void shouldNameWhatIsMissingAndWhatToInstall() throws Exception {
        Path sbin = fake("sbin", "mariadbd");
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> MariaDbBinaries.locate(null, List.of(sbin)));
        assertTrue(ex.getMessage().startsWith("No MariaDB binaries found (mariadb-install-db, mariadb missing; looked in ["
                + sbin + "]): install MariaDB, e.g. `apt-get install mariadb-server`"), ex.getMessage());
    }

    @Test
    void shouldFindEachBinaryInItsOwnDirectoryLikeDebian() throws Exception {
        Path sbin = fake("sbin", "mariadbd");
        Path bin = fake("bin", "mariadb-install-db", "mariadb");
        MariaDbBinaries found = MariaDbBinaries.locate(null, List.of(tmp.resolve("empty"), sbin, bin));
        assertEquals(sbin.resolve("mariadbd"), found.server);
        assertEquals(bin.resolve("mariadb-install-db"), found.installDb);
        assertEquals(bin.resolve("mariadb"), found.client);
    }

    @Test
    void shouldRejectAnExplicitDirectoryThatLacksABinaryInsteadOfFallingBack() throws Exception {
        Path partial = fake("partial", "mariadbd", "mariadb");
        Path complete = fake("complete", "mariadbd", "mariadb-install-db", "mariadb");
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> MariaDbBinaries.locate(partial.toString(), List.of(complete)));
        assertTrue(ex.getMessage().startsWith("MARIADB_BIN (MARIADB_BIN / -Dr2dbc.routing.testkit.mariadbBin) is '"
                + partial + "', but that directory holds no executable mariadb-install-db: "), ex.getMessage());
        assertEquals(complete.resolve("mariadbd"), MariaDbBinaries.locate(complete.toString(), List.of()).server);
    }

    private Path fake(String dir, String... binaries) throws Exception {
        Path directory = Files.createDirectories(tmp.resolve(dir));
        for (String binary : binaries) {
            Path file = Files.writeString(directory.resolve(binary), "#!/bin/sh\n");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return directory;
    }

}
