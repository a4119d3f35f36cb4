package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeapCensusTests {

    @Test
    void shouldWatchTheLibrarysConnectionClassesAndThePools() {
        assertThat(HeapCensus.watched("io.github.r2dbcrouting.RoutingConnectionFactory")).isTrue();
        assertThat(HeapCensus.watched("io.r2dbc.pool.ConnectionPool")).isTrue();
        assertThat(HeapCensus.watched("io.r2dbc.postgresql.PostgresqlConnection")).isTrue();
        assertThat(HeapCensus.watched("org.mariadb.r2dbc.MariadbConnection")).isTrue();
        assertThat(HeapCensus.watched("org.mariadb.r2dbc.client.SimpleClient")).isTrue();
    }

    @Test
    void shouldNotCountEnumConstantsMadeWhenTheirClassIsFirstUsed() {
        // CI failed on "RoutingEvent$Type 0 -> 10": the first event of a kind during the soak loads the
        // enum and makes its constants, which live as long as the class and do not grow
        assertThat(HeapCensus.watched("io.github.r2dbcrouting.RoutingEvent$Type")).isFalse();
        assertThat(HeapCensus.watched("io.github.r2dbcrouting.RoutingEvent$Cause")).isFalse();
    }

    @Test
    void shouldNotWatchTheRunnersOwnClassesOrLambdas() {
        assertThat(HeapCensus.watched("io.github.r2dbcrouting.benchmarks.ScenarioRunner")).isFalse();
        assertThat(HeapCensus.watched("io.github.r2dbcrouting.Router$$Lambda/0x0000000801234")).isFalse();
    }
}
