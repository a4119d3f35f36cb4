package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MariaDbClusterBuilderTests {

    @Test
    void shouldRejectReplicaCountsOutsideZeroToNine() {
        assertEquals("replicas must be between 0 and 9, was 10", assertThrows(IllegalArgumentException.class,
                () -> MariaDbCluster.builder().replicas(10)).getMessage());
        assertEquals("replicas must be between 0 and 9, was -1", assertThrows(IllegalArgumentException.class,
                () -> MariaDbCluster.builder().replicas(-1)).getMessage());
    }

    @Test
    void shouldRejectNamesThatAreNoPlainIdentifiers() {
        assertEquals("database must be a plain SQL identifier (letters, digits, underscores, not starting with a digit, "
                + "at most 32 characters), was 'app; DROP'", assertThrows(IllegalArgumentException.class,
                        () -> MariaDbCluster.builder().database("app; DROP")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MariaDbCluster.builder().username("1app"))
            .getMessage()
            .startsWith("username must be a plain SQL identifier"));
    }

    @Test
    void shouldKeepTheTestkitsOwnAccounts() {
        assertEquals("username must not be 'root' nor 'repl' (the testkit's own accounts), was 'root'",
                assertThrows(IllegalArgumentException.class, () -> MariaDbCluster.builder().username("root")).getMessage());
        assertEquals("username must not be 'root' nor 'repl' (the testkit's own accounts), was 'repl'",
                assertThrows(IllegalArgumentException.class, () -> MariaDbCluster.builder().username("repl")).getMessage());
    }

    @Test
    void shouldRejectEmptyOrMultiLinePasswordsWithoutEchoingThem() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> MariaDbCluster.builder().password("se\ncret"));
        assertEquals("password must be non-empty and on one line", ex.getMessage());
    }

    @Test
    void shouldQuotePasswordsSafelyInTheSetupSql() {
        String sql = MariaDbTemplate.setupSql("app", "it's a \\ secret", "app");
        assertTrue(sql.contains("CREATE USER 'app'@'%' IDENTIFIED BY 'it\\'s a \\\\ secret';"), sql);
        assertTrue(sql.contains("GRANT ALL PRIVILEGES ON `app`.* TO 'app'@'%';"), sql);
        assertTrue(sql.contains("GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO 'app'@'%';"), sql);
    }

}
