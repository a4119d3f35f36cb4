package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Settings checks and the generated Patroni configuration, without starting anything. */
class PatroniClusterBuilderTests {

    @Test
    void shouldRefuseBadSettingsNamingThem() {
        assertEquals("members must be between 1 and 9, was 0", assertThrows(IllegalArgumentException.class,
                () -> PatroniCluster.builder().members(0)).getMessage());
        assertEquals("Patroni needs loop_wait + 2 * retry_timeout <= ttl, was 1 + 2 * 5 > 10",
                assertThrows(IllegalArgumentException.class, () -> PatroniCluster.builder()
                    .timing(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(5))).getMessage());
        assertEquals("loopWait must be a positive whole number of seconds, was PT0.5S",
                assertThrows(IllegalArgumentException.class, () -> PatroniCluster.builder()
                    .timing(Duration.ofSeconds(10), Duration.ofMillis(500), Duration.ofSeconds(2))).getMessage());
        assertEquals("password must be non-empty and on one line", assertThrows(IllegalArgumentException.class,
                () -> PatroniCluster.builder().password("")).getMessage());
    }

    @Test
    @SuppressWarnings("unchecked")
    void shouldWriteConfigurationThatPatroniReadsAsYaml() {
        Endpoint endpoint = new Endpoint("pg-1", "127.0.0.1", 5433, "app", "app", "it's a \"secret\"\\");
        String json = PatroniConfig.json("scope-1", "pg-1", Path.of("/tmp/c/pg-1"), endpoint, 8009, "127.0.0.1:2379",
                Path.of("/tmp/c/template.path"), Path.of("/usr/lib/postgresql/15/bin"), Duration.ofSeconds(8),
                Duration.ofSeconds(1), Duration.ofSeconds(3), true, Map.of("nofailover", true));
        Map<String, Object> config = (Map<String, Object>) Json.parse(json);
        assertEquals("scope-1", config.get("scope"));
        assertEquals(Map.of("listen", "127.0.0.1:8009", "connect_address", "127.0.0.1:8009"), config.get("restapi"));
        assertEquals(List.of("127.0.0.1:2379"), ((Map<String, Object>) config.get("etcd3")).get("hosts"));
        Map<String, Object> bootstrap = (Map<String, Object>) config.get("bootstrap");
        Map<String, Object> dcs = (Map<String, Object>) bootstrap.get("dcs");
        assertEquals(8L, dcs.get("ttl"));
        assertEquals(1L, dcs.get("loop_wait"));
        assertEquals(3L, dcs.get("retry_timeout"));
        assertEquals(true, dcs.get("synchronous_mode"));
        Map<String, Object> postgresql = (Map<String, Object>) config.get("postgresql");
        assertEquals("127.0.0.1:5433", postgresql.get("listen"));
        assertEquals("/tmp/c/pg-1/data", postgresql.get("data_dir"));
        Map<String, Object> superuser = (Map<String, Object>) ((Map<String, Object>) postgresql.get("authentication"))
            .get("superuser");
        assertEquals("it's a \"secret\"\\", superuser.get("password"), "the password survives JSON quoting");
        assertEquals(Map.of("nofailover", true), config.get("tags"));
        String command = (String) ((Map<String, Object>) bootstrap.get("copy_template")).get("command");
        assertEquals("sh -c 'while [ ! -f \"$0\" ]; do sleep 0.05; done; exec cp -a \"$(cat \"$0\")\" \"$1\"' "
                + "'/tmp/c/template.path' '/tmp/c/pg-1/data'", command);
        assertFalse(endpoint.toString().contains("secret"));
    }

}
