package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;

/** Which dialect a node's driver gets, on stub factories that only say their name. */
class DialectTests {

    @Test
    void shouldHandleANodeOfAnUnknownFamilyByTheValidationQueryAndSaySoNamingTheNodeAndTheDriver() {
        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(PlainDialect.class);
        ListAppender<ILoggingEvent> warnings = new ListAppender<>();
        warnings.start();
        log.addAppender(warnings);
        try {
            Dialect dialect = Dialect.of(new StubConnectionFactory("h2"), "reports");

            assertThat(dialect).isSameAs(PlainDialect.INSTANCE);
            assertThat(dialect.identifies()).as("a server of its own, never an alias").isFalse();
            assertThat(warnings.list).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage())
                    .startsWith("node 'reports': no dialect recognises its driver ('Stub', known: PostgreSQL, MariaDB)")
                    .contains("checked with the validation query only");
            });
        } finally {
            log.detachAppender(warnings);
        }
    }

    @Test
    void shouldGiveTheDriversItKnowsTheirDialectWithoutAWarning() {
        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(PlainDialect.class);
        ListAppender<ILoggingEvent> warnings = new ListAppender<>();
        warnings.start();
        log.addAppender(warnings);
        try {
            assertThat(Dialect.of(new io.r2dbc.postgresql.PostgresqlConnectionFactory(
                io.r2dbc.postgresql.PostgresqlConnectionConfiguration.builder().host("127.0.0.1").username("u").build()), "primary"))
                .isSameAs(PostgresDialect.INSTANCE);
            assertThat(warnings.list).isEmpty();
        } finally {
            log.detachAppender(warnings);
        }
    }
}
