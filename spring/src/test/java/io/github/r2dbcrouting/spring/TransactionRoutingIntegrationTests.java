package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.function.Consumer;

import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.r2dbc.autoconfigure.DataR2dbcAutoConfiguration;
import org.springframework.boot.data.r2dbc.autoconfigure.DataR2dbcRepositoriesAutoConfiguration;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.annotation.Id;
import org.springframework.data.r2dbc.repository.Query;
import org.springframework.data.r2dbc.repository.config.EnableR2dbcRepositories;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.reactive.ReactiveCrudRepository;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.ReactiveTransactionManager;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.reactive.TransactionalOperator;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** Read-only transactions on replicas, read-write ones on the primary, against a real cluster. */
class TransactionRoutingIntegrationTests {

    static final String WHERE = "SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery";

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema("CREATE TABLE notes (id bigserial PRIMARY KEY, text text NOT NULL)", "INSERT INTO notes (text) VALUES ('first')")
        .build();

    private static long noteId;

    /**
     * These tests are about transactions, not faults: probes slow enough that a machine stalled
     * for a second (a loaded CI host) does not eject a replica as stalled under a test's
     * transaction, which closes its connection (seen once: "R2DBC rollback; ... connection is closed").
     */
    private static final String LENIENT_INTERVAL = "r2dbc.routing.health.interval=5s";

    private static final String LENIENT_TIMEOUT = "r2dbc.routing.health.timeout=5s";

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, RoutingTransactionManagerAutoConfiguration.class,
            R2dbcAutoConfiguration.class, R2dbcTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
            DataR2dbcAutoConfiguration.class, DataR2dbcRepositoriesAutoConfiguration.class))
        .withUserConfiguration(NotesConfiguration.class);

    @BeforeAll
    static void findNote() {
        noteId = Long.parseLong(CLUSTER.primary().queryString("SELECT id FROM notes WHERE text = 'first'"));
    }

    @Test
    void shouldRunReadOnlyTransactionalRepositoryReadOnAReplica() {
        run(context -> {
            NoteSeen seen = context.getBean(NoteService.class).readOnly(noteId).block(Duration.ofSeconds(10));
            assertThat(seen.text()).isEqualTo("first");
            assertThat(seen.inRecovery()).as("pg_is_in_recovery() of the node that served the read").isTrue();
            assertThat(replicaPorts()).contains(seen.port());
        });
    }

    @Test
    void shouldRunReadWriteTransactionOnThePrimary() {
        run(context -> {
            NoteSeen seen = context.getBean(NoteService.class).readWrite(noteId).block(Duration.ofSeconds(10));
            assertThat(seen.inRecovery()).isFalse();
            assertThat(seen.port()).isEqualTo(CLUSTER.primary().port());
        });
    }

    @Test
    void shouldRunReadsWithoutTransactionOnThePrimary() {
        run(context -> {
            NoteSeen seen = context.getBean(NoteRepository.class).findSeenById(noteId).block(Duration.ofSeconds(10));
            assertThat(seen.port()).isEqualTo(CLUSTER.primary().port());
        });
    }

    @Test
    void shouldLetAnExplicitPrimaryKeyWinOverReadOnlyTransaction() {
        run(context -> {
            NoteSeen seen = context.getBean(NoteService.class).readOnly(noteId).contextWrite(Routing.primary())
                .block(Duration.ofSeconds(10));
            assertThat(seen.port()).isEqualTo(CLUSTER.primary().port());
        });
    }

    @Test
    void shouldRefuseAWriteInAReadOnlyTransaction() {
        run(context -> StepVerifier.create(context.getBean(NoteService.class).writeInReadOnly("nope"))
            .expectErrorSatisfies(error -> assertThat(error).hasStackTraceContaining("read-only transaction"))
            .verify(Duration.ofSeconds(10)));
    }

    @Test
    void shouldCommitReadWriteTransactionsOnThePrimary() {
        run(context -> {
            Note saved = context.getBean(NoteService.class).write("second").block(Duration.ofSeconds(10));
            assertThat(CLUSTER.primary().queryString("SELECT text FROM notes WHERE id = " + saved.id())).isEqualTo("second");
        });
    }

    @Test
    void shouldRouteTransactionalOperatorByItsDefinition() {
        run(context -> {
            ReactiveTransactionManager manager = context.getBean(ReactiveTransactionManager.class);
            DatabaseClient client = context.getBean(DatabaseClient.class);
            DefaultTransactionDefinition readOnly = new DefaultTransactionDefinition();
            readOnly.setReadOnly(true);
            Mono<Integer> where = client.sql(WHERE).map(row -> row.get("port", Integer.class)).one();

            Integer readPort = TransactionalOperator.create(manager, readOnly).transactional(where).block(Duration.ofSeconds(10));
            Integer writePort = TransactionalOperator.create(manager).transactional(where).block(Duration.ofSeconds(10));

            assertThat(replicaPorts()).contains(readPort);
            assertThat(writePort).isEqualTo(CLUSTER.primary().port());
        });
    }

    @Test
    void shouldCountRoutedAcquisitionsPerRoute() {
        this.runner.withPropertyValues(ClusterContext.properties(CLUSTER.cluster(), "r2dbc.routing.name=metered", LENIENT_INTERVAL, LENIENT_TIMEOUT))
            .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
            .run(context -> {
                assertThat(context).hasNotFailed();
                NoteService service = context.getBean(NoteService.class);
                for (int i = 0; i < 3; i++) {
                    service.readOnly(noteId).block(Duration.ofSeconds(10));
                }
                service.readWrite(noteId).block(Duration.ofSeconds(10));
                MeterRegistry registry = context.getBean(MeterRegistry.class);
                Search reads = registry.find("r2dbc.routing.acquisitions").tags("factory", "metered", "route", "read");
                assertThat(reads.counters().stream().mapToDouble(c -> c.count()).sum()).isEqualTo(3.0);
                assertThat(registry.get("r2dbc.routing.acquisitions").tags("node", "primary", "route", "write").counter().count())
                    .isEqualTo(1.0);
                assertThat(registry.find("r2dbc.routing.acquisitions").tags("node", "primary", "route", "read").counter())
                    .as("no read fell back to the primary").satisfiesAnyOf(
                        counter -> assertThat(counter).isNull(), counter -> assertThat(counter.count()).isZero());
            });
    }

    private void run(Consumer<AssertableApplicationContext> test) {
        this.runner.withPropertyValues(ClusterContext.properties(CLUSTER.cluster(), LENIENT_INTERVAL, LENIENT_TIMEOUT)).run(context -> {
            assertThat(context).hasNotFailed();
            test.accept(context);
            RoutingConnectionFactory factory = context.getBean(RoutingConnectionFactory.class);
            Await.until("no pooled connection in use", Duration.ofSeconds(10),
                () -> factory.nodes().stream().allMatch(node -> node.acquired() == 0), () -> factory.nodes().toString());
        });
    }

    private static java.util.List<Integer> replicaPorts() {
        return CLUSTER.replicas().stream().map(PostgresNode::port).toList();
    }

    @Table("notes")
    record Note(@Id Long id, String text) {
    }

    record NoteSeen(Long id, String text, Integer port, Boolean inRecovery) {
    }

    interface NoteRepository extends ReactiveCrudRepository<Note, Long> {

        @Query("SELECT n.id, n.text, inet_server_port() AS port, pg_is_in_recovery() AS in_recovery FROM notes n WHERE n.id = :id")
        Mono<NoteSeen> findSeenById(long id);
    }

    static class NoteService {

        private final NoteRepository notes;

        NoteService(NoteRepository notes) {
            this.notes = notes;
        }

        @Transactional(readOnly = true)
        public Mono<NoteSeen> readOnly(long id) {
            return this.notes.findSeenById(id);
        }

        @Transactional
        public Mono<NoteSeen> readWrite(long id) {
            return this.notes.findSeenById(id);
        }

        @Transactional
        public Mono<Note> write(String text) {
            return this.notes.save(new Note(null, text));
        }

        @Transactional(readOnly = true)
        public Mono<Note> writeInReadOnly(String text) {
            return this.notes.save(new Note(null, text));
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableTransactionManagement
    @EnableR2dbcRepositories(basePackageClasses = TransactionRoutingIntegrationTests.class, considerNestedRepositories = true)
    static class NotesConfiguration {

        @Bean
        NoteService noteService(NoteRepository notes) {
            return new NoteService(notes);
        }
    }

}
