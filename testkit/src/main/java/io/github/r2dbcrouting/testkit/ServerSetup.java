package io.github.r2dbcrouting.testkit;

import java.util.Locale;

/**
 * What both backends set up the same way, so a test cannot tell them apart by the server:
 * the settings every node runs with and the replication slot each standby streams through.
 */
final class ServerSetup {

    /**
     * Settings for a fast, throwaway, replication-ready server, in {@code postgresql.conf}
     * syntax. Where the server listens is backend-specific and not part of this.
     */
    static final String SETTINGS = String.join("\n", "",
            "# r2dbc-routing-testkit: throwaway test server, tuned for speed, not durability",
            "fsync = off",
            "full_page_writes = off",
            "wal_level = replica",
            "max_wal_senders = 10",
            "max_replication_slots = 10",
            "hot_standby = on",
            "hot_standby_feedback = on",
            "wal_receiver_status_interval = 1s",
            "wal_retrieve_retry_interval = 200ms",
            "max_connections = 100",
            "shared_buffers = 32MB",
            "logging_collector = off",
            "log_min_messages = warning",
            "");

    private ServerSetup() {
    }

    /** The physical replication slot of the standby named {@code nodeName}. */
    static String slotName(String nodeName) {
        return nodeName.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    /**
     * SQL run on the primary before a standby's base backup: drops a slot left from an earlier
     * life of that standby (rejoin) and makes a new one that reserves WAL at once. Not left to
     * {@code pg_basebackup -C}: with parallel backups, one's fast checkpoint could remove a
     * segment the other still has to stream.
     */
    static String createSlotSql(String nodeName) {
        String slot = slotName(nodeName);
        return "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot
                + "' AND NOT active; SELECT pg_create_physical_replication_slot('" + slot + "', true)";
    }

}
