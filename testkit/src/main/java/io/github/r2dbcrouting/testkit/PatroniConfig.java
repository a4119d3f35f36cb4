package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes a member's Patroni configuration. It is JSON, which Patroni's YAML reader takes as is,
 * so that no value needs YAML quoting rules.
 */
final class PatroniConfig {

    /** The etcd key prefix of test clusters. */
    static final String NAMESPACE = "/r2dbc-routing-testkit/";

    private PatroniConfig() {
    }

    static String json(String scope, String name, Path memberDir, Endpoint endpoint, int restPort, String etcdAddress,
            Path templatePathFile, Path pgBin, Duration ttl, Duration loopWait, Duration retryTimeout,
            boolean synchronous, Map<String, Boolean> tags) {
        Path dataDir = memberDir.resolve("data");
        String pg = endpoint.host() + ":" + endpoint.port();
        String rest = endpoint.host() + ":" + restPort;
        String credentials = object(Map.of("username", q(endpoint.username()), "password", q(endpoint.password())));
        // settings every member must share go to the DCS (Patroni takes them from there)
        String dcsParameters = object(Map.of("wal_level", q("replica"), "hot_standby", q("on"), "wal_log_hints",
                q("on"), "max_connections", "100", "max_wal_senders", "10", "max_replication_slots", "10",
                "wal_keep_size", q("64MB"), "max_worker_processes", "8"));
        // ServerSetup.SETTINGS, as Patroni parameters, plus no unix socket
        String localParameters = object(Map.ofEntries(Map.entry("unix_socket_directories", q("")),
                Map.entry("fsync", q("off")), Map.entry("full_page_writes", q("off")),
                Map.entry("hot_standby_feedback", q("on")), Map.entry("wal_receiver_status_interval", q("1s")),
                Map.entry("wal_retrieve_retry_interval", q("200ms")), Map.entry("shared_buffers", q("32MB")),
                Map.entry("logging_collector", q("off")), Map.entry("log_min_messages", q("warning"))));
        // The template may still be being made when Patroni starts (both run in parallel): wait for
        // the file that names it, then copy it.
        String copyCommand = "sh -c " + shellQuote("while [ ! -f \"$0\" ]; do sleep 0.05; done; exec cp -a \"$(cat \"$0\")\" \"$1\"")
                + " " + shellQuote(templatePathFile.toString()) + " " + shellQuote(dataDir.toString());
        return "{\n"
                + "\"scope\": " + q(scope) + ",\n"
                + "\"namespace\": " + q(NAMESPACE) + ",\n"
                + "\"name\": " + q(name) + ",\n"
                + "\"log\": {\"level\": \"INFO\"},\n"
                + "\"restapi\": {\"listen\": " + q(rest) + ", \"connect_address\": " + q(rest) + "},\n"
                + "\"etcd3\": {\"hosts\": [" + q(etcdAddress) + "], \"protocol\": \"http\"},\n"
                + "\"bootstrap\": {\n"
                + "  \"dcs\": {\"ttl\": " + ttl.toSeconds() + ", \"loop_wait\": " + loopWait.toSeconds()
                + ", \"retry_timeout\": " + retryTimeout.toSeconds() + ", \"maximum_lag_on_failover\": 1048576,\n"
                + "    \"synchronous_mode\": " + synchronous + ",\n"
                + "    \"postgresql\": {\"use_pg_rewind\": true, \"use_slots\": true, \"parameters\": " + dcsParameters
                + "}},\n"
                + "  \"method\": \"copy_template\",\n"
                + "  \"copy_template\": {\"command\": " + q(copyCommand) + ", \"no_params\": true}\n"
                + "},\n"
                + "\"postgresql\": {\n"
                + "  \"listen\": " + q(pg) + ", \"connect_address\": " + q(pg) + ",\n"
                + "  \"data_dir\": " + q(dataDir.toString()) + ", \"bin_dir\": " + q(pgBin.toString()) + ",\n"
                + "  \"pgpass\": " + q(memberDir.resolve("pgpass").toString()) + ",\n"
                + "  \"authentication\": {\"superuser\": " + credentials + ", \"replication\": " + credentials
                + ", \"rewind\": " + credentials + "},\n"
                + "  \"pg_hba\": " + array(List.of("local all all trust", "host all all 127.0.0.1/32 scram-sha-256",
                        "host replication all 127.0.0.1/32 scram-sha-256")) + ",\n"
                + "  \"parameters\": " + localParameters + ",\n"
                + "  \"basebackup\": [\"no-sync\", {\"checkpoint\": \"fast\"}],\n"
                + "  \"remove_data_directory_on_rewind_failure\": true,\n"
                + "  \"remove_data_directory_on_diverged_timelines\": true\n"
                + "},\n"
                + "\"tags\": " + object(tags.entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().toString()))) + "\n"
                + "}\n";
    }

    private static String q(String value) {
        return Json.quote(value);
    }

    private static String object(Map<String, String> rawValues) {
        return rawValues.entrySet()
            .stream()
            .sorted(Map.Entry.comparingByKey())
            .map(e -> q(e.getKey()) + ": " + e.getValue())
            .collect(Collectors.joining(", ", "{", "}"));
    }

    private static String array(List<String> values) {
        return values.stream().map(PatroniConfig::q).collect(Collectors.joining(", ", "[", "]"));
    }

    /** For Patroni's {@code shlex.split}: single quotes, a quote inside closed and reopened. */
    private static String shellQuote(String value) {
        return "'" + value.replace("'", "'\"'\"'") + "'";
    }

}
