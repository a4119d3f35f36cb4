package io.github.r2dbcrouting.testkit;

import java.time.Duration;

import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;

/** Where a node listens and how to log in. {@link #toString()} never shows the password. */
record Endpoint(String name, String host, int port, String database, String username, String password) {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    String r2dbcUrl() {
        return "r2dbc:postgresql://" + host + ":" + port + "/" + database;
    }

    ConnectionFactoryOptions options() {
        return ConnectionFactoryOptions.builder()
            .option(ConnectionFactoryOptions.DRIVER, "postgresql")
            .option(ConnectionFactoryOptions.HOST, host)
            .option(ConnectionFactoryOptions.PORT, port)
            .option(ConnectionFactoryOptions.DATABASE, database)
            .option(ConnectionFactoryOptions.USER, username)
            .option(ConnectionFactoryOptions.PASSWORD, password)
            .option(ConnectionFactoryOptions.CONNECT_TIMEOUT, CONNECT_TIMEOUT)
            .build();
    }

    /** A new, unpooled factory. */
    ConnectionFactory connectionFactory() {
        return new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
            .host(host)
            .port(port)
            .database(database)
            .username(username)
            .password(password)
            .applicationName("r2dbc-routing-testkit")
            .connectTimeout(CONNECT_TIMEOUT)
            .build());
    }

    /** A libpq connection string for replication, with the password, for postgresql.auto.conf only. */
    String replicationConninfo(String applicationName) {
        return "host=" + host + " port=" + port + " user=" + conninfoValue(username) + " password="
                + conninfoValue(password) + " application_name=" + conninfoValue(applicationName);
    }

    private static String conninfoValue(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    @Override
    public String toString() {
        return name + " (" + host + ":" + port + ")";
    }

}
