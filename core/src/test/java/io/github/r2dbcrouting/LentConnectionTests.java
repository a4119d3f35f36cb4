package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.Wrapped;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The release logic and the lending operator over a recording stub (no database): what a release
 * sends to the pooled connection, in which order, and when. Behaviour against a real server is in
 * {@code CleanReleaseIntegrationTests} and {@code ConnectionContractIntegrationTests}.
 */
class LentConnectionTests {

    /** Records every call; a pooled connection over a physical one, as r2dbc-pool lends it. */
    static final class Recording implements Connection, Wrapped<Connection> {

        final List<String> calls;

        final String name;

        boolean autoCommit = true;

        boolean failRollback;

        Recording physical;

        Recording(String name, List<String> calls) {
            this.name = name;
            this.calls = calls;
        }

        private Mono<Void> call(String call) {
            return Mono.fromRunnable(() -> this.calls.add(this.name + "." + call));
        }

        @Override
        public Connection unwrap() {
            return this.physical;
        }

        @Override
        public Mono<Void> beginTransaction() {
            return call("begin").doOnSuccess(ignored -> this.autoCommit = false);
        }

        @Override
        public Mono<Void> beginTransaction(TransactionDefinition definition) {
            return beginTransaction();
        }

        @Override
        public Mono<Void> close() {
            return call("close");
        }

        @Override
        public Mono<Void> commitTransaction() {
            return call("commit").doOnSuccess(ignored -> this.autoCommit = true);
        }

        @Override
        public Batch createBatch() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Mono<Void> createSavepoint(String name) {
            return call("savepoint");
        }

        @Override
        public Statement createStatement(String sql) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isAutoCommit() {
            return this.autoCommit;
        }

        @Override
        public ConnectionMetadata getMetadata() {
            throw new UnsupportedOperationException();
        }

        @Override
        public IsolationLevel getTransactionIsolationLevel() {
            return IsolationLevel.READ_COMMITTED;
        }

        @Override
        public Mono<Void> releaseSavepoint(String name) {
            return call("releaseSavepoint");
        }

        @Override
        public Mono<Void> rollbackTransaction() {
            if (this.failRollback) {
                return call("rollback").then(Mono.error(new R2dbcNonTransientResourceException("connection reset")));
            }
            return call("rollback").doOnSuccess(ignored -> this.autoCommit = true);
        }

        @Override
        public Mono<Void> rollbackTransactionToSavepoint(String name) {
            return call("rollbackToSavepoint");
        }

        @Override
        public Mono<Void> setAutoCommit(boolean autoCommit) {
            return call("autoCommit=" + autoCommit).doOnSuccess(ignored -> this.autoCommit = autoCommit);
        }

        @Override
        public Mono<Void> setLockWaitTimeout(Duration timeout) {
            return call("lockTimeout");
        }

        @Override
        public Mono<Void> setStatementTimeout(Duration timeout) {
            return call("statementTimeout");
        }

        @Override
        public Mono<Void> setTransactionIsolationLevel(IsolationLevel isolationLevel) {
            return call("isolation=" + isolationLevel.asSql());
        }

        @Override
        public Mono<Boolean> validate(ValidationDepth depth) {
            return Mono.just(true);
        }
    }

    private final List<String> calls = new ArrayList<>();

    private final Recording pooled = new Recording("pooled", this.calls);

    private final Lender lender = new Lender("stub", "node-1", false, null, Duration.ofSeconds(5), Schedulers.parallel());

    LentConnectionTests() {
        this.pooled.physical = new Recording("physical", this.calls);
    }

    @Test
    void shouldReleaseWithNothingToUndoThroughThePoolAlone() {
        Connection lent = this.lender.lend(this.pooled);
        StepVerifier.create(lent.close()).verifyComplete();
        assertThat(this.calls).containsExactly("pooled.close");
    }

    @Test
    void shouldReleaseOnlyWhenSubscribed() {
        Connection lent = this.lender.lend(this.pooled);
        lent.close();
        assertThat(this.calls).isEmpty();
        assertThat(lent.isAutoCommit()).isTrue();
    }

    @Test
    void shouldRollBackThenRestoreAutoCommitAndIsolation() {
        Connection lent = this.lender.lend(this.pooled);
        Mono.from(lent.setAutoCommit(false)).block();
        Mono.from(lent.setTransactionIsolationLevel(IsolationLevel.SERIALIZABLE)).block();
        this.calls.clear();
        StepVerifier.create(lent.close()).verifyComplete();
        assertThat(this.calls).containsExactly("pooled.rollback", "pooled.isolation=READ COMMITTED", "pooled.close");
    }

    @Test
    void shouldNotRollBackATransactionCommittedThroughTheSpi() {
        Connection lent = this.lender.lend(this.pooled);
        Mono.from(lent.beginTransaction()).then(Mono.from(lent.commitTransaction())).block();
        this.calls.clear();
        StepVerifier.create(lent.close()).verifyComplete();
        assertThat(this.calls).containsExactly("pooled.close");
    }

    @Test
    void shouldDiscardThePhysicalConnectionWhenTheRollbackFails() {
        this.pooled.failRollback = true;
        Connection lent = this.lender.lend(this.pooled);
        Mono.from(lent.beginTransaction()).block();
        this.calls.clear();
        StepVerifier.create(lent.close()).verifyComplete();
        assertThat(this.calls).containsExactly("pooled.rollback", "physical.close", "pooled.close");
    }

    @Test
    void shouldDiscardAConnectionWhoseTimeoutCannotBeRestored() {
        Connection lent = this.lender.lend(this.pooled);
        Mono.from(lent.setStatementTimeout(Duration.ofSeconds(1))).block();
        this.calls.clear();
        StepVerifier.create(lent.close()).verifyComplete();
        assertThat(this.calls).containsExactly("physical.close", "pooled.close");
    }

    @Test
    void shouldReleaseOnceWhenClosedTwice() {
        Connection lent = this.lender.lend(this.pooled);
        StepVerifier.create(lent.close()).verifyComplete();
        StepVerifier.create(lent.close()).verifyComplete();
        assertThat(this.calls).containsExactly("pooled.close");
    }

    @Test
    void shouldLendWhatThePoolEmits() {
        Mono<Connection> lending = acquisition(Mono.just(this.pooled)).onFailure(Mono::error);
        StepVerifier.create(lending)
            .assertNext(connection -> {
                assertThat(connection).isInstanceOf(LentConnection.class);
                assertThat(((Wrapped<?>) connection).unwrap()).isSameAs(this.pooled);
            })
            .verifyComplete();
    }

    @Test
    void shouldPassOnWhatTheResumedAcquisitionEmitsAsItIs() {
        Connection elsewhere = this.lender.lend(new Recording("elsewhere", this.calls));
        Mono<Connection> lending = acquisition(Mono.error(new IllegalStateException("down"))).onFailure(error -> Mono.just(elsewhere));
        StepVerifier.create(lending).expectNext(elsewhere).verifyComplete();
    }

    @Test
    void shouldResumeWithTheRoutesError() {
        Mono<Connection> lending = acquisition(Mono.error(new IllegalStateException("down"))).onFailure(error -> Mono.error(new IllegalArgumentException("named: " + error.getMessage())));
        StepVerifier.create(lending).expectErrorMessage("named: down").verify();
    }

    @Test
    void shouldRequestAndCancelTheResumedAcquisition() {
        Sinks.One<Connection> later = Sinks.one();
        Mono<Connection> lending = acquisition(Mono.error(new IllegalStateException("down"))).onFailure(error -> later.asMono());
        StepVerifier.create(lending, 0)
            .expectSubscription()
            .then(() -> assertThat(later.currentSubscriberCount()).isOne())
            .thenRequest(1)
            .then(() -> later.tryEmitValue(this.pooled))
            .expectNext(this.pooled)
            .verifyComplete();

        Sinks.One<Connection> never = Sinks.one();
        StepVerifier.create(acquisition(Mono.error(new IllegalStateException("down"))).onFailure(error -> never.asMono()))
            .expectSubscription()
            .thenCancel()
            .verify();
        assertThat(never.currentSubscriberCount()).isZero();
    }

    /** The routes' acquisition operator over {@code pool}, lending what it emits, with no deadline. */
    private Acquisition acquisition(Mono<Connection> pool) {
        return new Acquisition(pool, "node", Duration.ZERO, Duration.ZERO, Schedulers.immediate(), this.lender);
    }
}
