package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.Test;

/** The MariaDB dialect's pure rules: detection, role and lag from what the server answered, and the lag bound. */
class MariaDbDialectTests {

    @Test
    void shouldDetectTheMariaDbDriverFromItsMetadata() {
        ConnectionFactoryMetadata mariadb = () -> "MariaDB";
        ConnectionFactoryMetadata postgres = () -> "PostgreSQL";
        ConnectionFactoryMetadata other = () -> "H2";
        assertThat(MariaDbDialect.speaks(mariadb)).isTrue();
        assertThat(MariaDbDialect.speaks(postgres)).isFalse();
        assertThat(MariaDbDialect.speaks(other)).isFalse();
    }

    @Test
    void shouldTellRoleAndLagFromReadOnlyAndTheReplicaStatusRow() {
        assertThat(MariaDbDialect.status(false, false, null)).isEqualTo(new Dialect.Status(NodeRole.PRIMARY, -1, null));
        assertThat(MariaDbDialect.status(true, true, Duration.ofSeconds(3)))
            .isEqualTo(new Dialect.Status(NodeRole.REPLICA, -1, Duration.ofSeconds(3)));
        // Seconds_Behind_Master NULL: the SQL thread is stopped or the primary cannot be reached
        assertThat(Dialect.notReplicating(MariaDbDialect.status(true, true, null).lag())).isTrue();
        // read-only without replication (a fenced old primary): a replica that does not replicate
        Dialect.Status fenced = MariaDbDialect.status(true, false, null);
        assertThat(fenced.role()).isEqualTo(NodeRole.REPLICA);
        assertThat(Dialect.notReplicating(fenced.lag())).isTrue();
        // writable but replicating: not taken for a primary
        assertThat(MariaDbDialect.status(false, true, Duration.ZERO).role()).isEqualTo(NodeRole.REPLICA);
    }

    @Test
    void shouldCountNotReplicatingAsPastMaxLagTimeOnlyWhenALagTimeBoundIsSet() {
        HealthSettings bounded = HealthSettings.builder().maxLagTime(Duration.ofSeconds(5)).build();
        assertThat(HealthRules.lagProblem(-1, Dialect.NOT_REPLICATING, bounded))
            .isEqualTo("lag unknown: not replicating (counts as past health.maxLagTime 5000ms)");
        assertThat(HealthRules.lagProblem(-1, Duration.ofSeconds(4), bounded)).isNull();
        assertThat(HealthRules.lagProblem(-1, Dialect.NOT_REPLICATING, HealthSettings.builder().build())).isNull();
    }
}
