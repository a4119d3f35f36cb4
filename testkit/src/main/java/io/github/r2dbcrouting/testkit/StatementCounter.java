package io.github.r2dbcrouting.testkit;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.ValidationDepth;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Wraps a real driver's {@link ConnectionFactory} so that its connections count what they send:
 * each statement by its SQL text, and each other call that goes to the server (transaction
 * control, savepoints, session settings, a {@code REMOTE} validation) as {@code call: method}.
 * What a server's log would show, for every connection opened through it, without reading the log.
 * Statements added to a {@code createBatch()} batch are not counted.
 *
 * <pre>{@code
 * StatementCounter primary = new StatementCounter(cluster.primary().connectionFactory());
 * // ... build the code under test on `primary`, run it ...
 * assertThat(primary.count("SELECT pg_current_wal_insert_lsn()"::equals)).isZero();
 * }</pre>
 */
public final class StatementCounter implements ConnectionFactory {

    /** Connection methods that send something to the server. */
    private static final Set<String> ROUND_TRIPS = Set.of("beginTransaction", "commitTransaction", "rollbackTransaction",
        "createSavepoint", "releaseSavepoint", "rollbackTransactionToSavepoint", "setAutoCommit", "setTransactionIsolationLevel",
        "setLockWaitTimeout", "setStatementTimeout");

    private final ConnectionFactory delegate;

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    public StatementCounter(ConnectionFactory delegate) {
        this.delegate = delegate;
    }

    /** What was sent so far: SQL text (or {@code call: method}) to how many times, sorted. */
    public Map<String, Long> snapshot() {
        Map<String, Long> snapshot = new TreeMap<>();
        this.counts.forEach((key, count) -> snapshot.put(key, count.sum()));
        return snapshot;
    }

    /** How many statements (and calls) sent so far match: {@code count(sql -> sql.startsWith("INSERT"))}. */
    public long count(Predicate<String> matching) {
        long sum = 0;
        for (Map.Entry<String, LongAdder> entry : this.counts.entrySet()) {
            if (matching.test(entry.getKey())) {
                sum += entry.getValue().sum();
            }
        }
        return sum;
    }

    /** What was sent between two {@link #snapshot()}s: only what grew, by how much. */
    public static Map<String, Long> since(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> delta = new TreeMap<>();
        after.forEach((key, n) -> {
            long d = n - before.getOrDefault(key, 0L);
            if (d > 0) {
                delta.put(key, d);
            }
        });
        return delta;
    }

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.from(this.delegate.create()).map(this::counting);
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return this.delegate.getMetadata();
    }

    private void count(String key) {
        this.counts.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    private Connection counting(Connection connection) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class}, (proxy, method, args) -> {
            String name = method.getName();
            if (name.equals("equals") && args != null && args.length == 1) {
                return proxy == args[0];
            }
            if (name.equals("createStatement") && args != null && args.length == 1) {
                count((String) args[0]);
            }
            else if (ROUND_TRIPS.contains(name) || name.equals("validate") && args != null && args[0] == ValidationDepth.REMOTE) {
                count("call: " + name);
            }
            try {
                return method.invoke(connection, args);
            }
            catch (InvocationTargetException error) {
                throw error.getCause();
            }
        });
    }

    @Override
    public String toString() {
        return "StatementCounter[" + this.delegate.getMetadata().getName() + "]";
    }
}
