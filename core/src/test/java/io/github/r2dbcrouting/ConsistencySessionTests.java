package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class ConsistencySessionTests {

    @Test
    void shouldRoundTripThroughItsToken() {
        ConsistencySession session = ConsistencySession.create();
        assertThat(session.toToken()).isEqualTo("v1.0");
        session.advance(0x16B3D28L);
        session.advance(5);
        assertThat(session.position()).isEqualTo(0x16B3D28L);
        assertThat(session.toToken()).isEqualTo("v1.16B3D28");
        assertThat(ConsistencySession.fromToken(session.toToken()).position()).isEqualTo(session.position());
        assertThat(ConsistencySession.fromToken(null).position()).isZero();
        assertThat(ConsistencySession.fromToken("").position()).isZero();
    }

    @Test
    void shouldSettleOnceEveryLentConnectionIsBack() {
        ConsistencySession session = ConsistencySession.create();
        reactor.test.StepVerifier.create(session.settled()).verifyComplete();
        session.opened();
        session.opened();
        reactor.test.StepVerifier.create(session.settled())
            .then(session::released)
            .expectNoEvent(Duration.ofMillis(50))
            .then(session::released)
            .verifyComplete();
    }

    @Test
    void shouldRefuseForeignTokensNamingThem() {
        assertThatThrownBy(() -> ConsistencySession.fromToken("v2.12"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("consistency token must look like 'v1.<hex WAL position>' (PostgreSQL) or "
                + "'mdb1.<domain>-<server>-<sequence>[.<...>]' (MariaDB), was 'v2.12'");
        assertThatThrownBy(() -> ConsistencySession.fromToken("v1.xyz"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("consistency token must look like 'v1.<hex WAL position>' (PostgreSQL)")
            .hasMessageEndingWith(", was 'v1.xyz'");
        assertThatThrownBy(() -> ConsistencySession.fromToken("v1.FFFFFFFFFFFFFFFF"))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ConsistencySession.fromToken("v1." + "A".repeat(60)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageEndingWith("...'");
    }

    @Test
    void shouldTreatOnlyPlainQueriesAsReads() {
        assertThat(SessionRecording.mayWrite("  SELECT 1")).isFalse();
        assertThat(SessionRecording.mayWrite("select * from t")).isFalse();
        assertThat(SessionRecording.mayWrite("SHOW search_path")).isFalse();
        assertThat(SessionRecording.mayWrite("INSERT INTO t VALUES (1)")).isTrue();
        assertThat(SessionRecording.mayWrite("update t set a = 1")).isTrue();
        assertThat(SessionRecording.mayWrite("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x")).isTrue();
        assertThat(SessionRecording.mayWrite("")).isTrue();
    }

    @Test
    void shouldRefuseANegativeStalenessBound() {
        assertThatThrownBy(() -> Routing.readOnly(Duration.ofMillis(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("maxLag must not be negative, was PT-0.001S");
        assertThatThrownBy(() -> RoutingConnectionFactory.builder().sessionWait(Duration.ofSeconds(-1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("sessionWait must not be negative, was PT-1S");
    }
}
