package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** MariaDB GTID positions: parsing what the server says, comparing per domain, merging, and the token form. */
class GtidPositionTests {

    @Test
    void shouldCoverAPositionOnlyWhenEveryDomainOfItIsAtLeastAsFar() {
        GtidPosition replica = GtidPosition.parse("0-1-100,1-2-7");
        assertThat(replica.covers(GtidPosition.parse("0-1-100"))).isTrue();
        assertThat(replica.covers(GtidPosition.parse("0-1-99,1-2-7"))).isTrue();
        // sequence numbers are per domain, whatever server wrote them (a new primary continues the domain)
        assertThat(replica.covers(GtidPosition.parse("0-3-100"))).isTrue();
        assertThat(replica.covers(GtidPosition.parse("0-1-101"))).isFalse();
        assertThat(replica.covers(GtidPosition.parse("1-2-8"))).isFalse();
        assertThat(replica.covers(GtidPosition.parse("0-1-5,2-1-1"))).as("a domain it never applied").isFalse();
        assertThat(replica.covers(GtidPosition.EMPTY)).isTrue();
        assertThat(GtidPosition.EMPTY.covers(GtidPosition.parse("0-1-1"))).isFalse();
        assertThat(GtidPosition.parse("")).isEqualTo(GtidPosition.EMPTY);
        assertThat(GtidPosition.parse(" 1-2-7, 0-1-100 ")).as("order and spaces do not matter").isEqualTo(replica);
    }

    @Test
    void shouldMergeToTheHigherSequencePerDomain() {
        Position merged = GtidPosition.parse("0-1-100,2-1-5").merge(GtidPosition.parse("0-3-90,1-2-7"));
        assertThat(merged).isEqualTo(GtidPosition.parse("0-1-100,1-2-7,2-1-5"));
        assertThat(((GtidPosition) merged).serverText()).isEqualTo("0-1-100,1-2-7,2-1-5");
        GtidPosition ahead = GtidPosition.parse("0-1-200");
        assertThat(ahead.merge(GtidPosition.parse("0-1-100"))).isSameAs(ahead);
        assertThat(GtidPosition.parse("0-1-5").rank()).isLessThan(GtidPosition.parse("0-1-6").rank());
    }

    @Test
    void shouldRoundTripThroughATokenThatCarriesTheFamily() {
        ConsistencySession session = ConsistencySession.create();
        session.advance(GtidPosition.parse("0-1-42,1-2-7"));
        assertThat(session.toToken()).isEqualTo("mdb1.0-1-42.1-2-7");
        assertThat(session.position()).as("no WAL position in a MariaDB session").isEqualTo(-1);
        ConsistencySession next = ConsistencySession.fromToken(session.toToken());
        assertThat(next.current()).isEqualTo(session.current());
        assertThat(next.toToken()).isEqualTo("mdb1.0-1-42.1-2-7");
        assertThat(ConsistencySession.fromToken("v1.2A").current()).isEqualTo(new WalPosition(0x2A));
    }

    @Test
    void shouldRefuseMalformedMariaDbTokensNamingThem() {
        for (String bad : new String[] {"mdb1.", "mdb1.0-1", "mdb1.0-1-x", "mdb1.0-1-5.0-2-6", "mdb1.-1-1-1", "mdb1.0-1-5,1-1-1",
            "mdb1." + "0-1-1.".repeat(70) + "0-1-1"}) {
            assertThatThrownBy(() -> ConsistencySession.fromToken(bad)).as(bad)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("consistency token must look like 'v1.<hex WAL position>' (PostgreSQL) or 'mdb1.");
        }
    }

    @Test
    void shouldNeverCompareOrMergePositionsOfTwoFamilies() {
        GtidPosition gtid = GtidPosition.parse("0-1-42");
        WalPosition wal = new WalPosition(0x16B3D28L);
        assertThatThrownBy(() -> gtid.covers(wal)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("a PostgreSQL position (v1.16B3D28) cannot be compared with a MariaDB position (mdb1.0-1-42)");
        assertThatThrownBy(() -> wal.merge(gtid)).isInstanceOf(IllegalArgumentException.class);
        ConsistencySession session = ConsistencySession.fromToken("v1.16B3D28");
        assertThatThrownBy(() -> session.advance(gtid)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldNameTheTokenAndBothFamiliesWhenASessionMeetsTheOtherFamily() {
        ConsistencySession postgres = ConsistencySession.fromToken("v1.16B3D28");
        MariaDbDialect mariadb = new MariaDbDialect("primary");
        assertThat(postgres.foreignTo(mariadb, "orders")).hasMessage("consistency token 'v1.16B3D28' holds a PostgreSQL position, but "
            + "RoutingConnectionFactory 'orders' routes MariaDB nodes: a token (ConsistencySession.fromToken) is valid only for the "
            + "database family that issued it");
        assertThat(postgres.foreignTo(PostgresDialect.INSTANCE, "orders")).isNull();
        ConsistencySession maria = ConsistencySession.fromToken("mdb1.0-1-42");
        assertThat(maria.foreignTo(PostgresDialect.INSTANCE, "orders")).hasMessageContaining("'mdb1.0-1-42' holds a MariaDB position")
            .hasMessageContaining("routes PostgreSQL nodes");
        assertThat(maria.foreignTo(mariadb, "orders")).isNull();
        assertThat(ConsistencySession.create().foreignTo(mariadb, "orders")).as("a new session belongs to no family yet").isNull();
        assertThat(maria.foreignTo(PlainDialect.INSTANCE, "orders")).as("a plain node compares nothing").isNull();
    }

    @Test
    void shouldWaitForTheWholeListBoundedByWhatIsLeftOfTheWait() {
        GtidPosition position = GtidPosition.parse("0-1-42,1-2-7");
        assertThat(MariaDbDialect.gtidWait(position, TimeUnit.MILLISECONDS.toNanos(1250)))
            .isEqualTo("SELECT MASTER_GTID_WAIT('0-1-42,1-2-7', 1.250)");
        assertThat(MariaDbDialect.gtidWait(position, -5)).isEqualTo("SELECT MASTER_GTID_WAIT('0-1-42,1-2-7', 0.000)");
    }
}
