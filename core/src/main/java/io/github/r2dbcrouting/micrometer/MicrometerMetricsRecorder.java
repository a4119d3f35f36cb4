package io.github.r2dbcrouting.micrometer;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToIntFunction;

import io.github.r2dbcrouting.Fallback;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.RoutingEvent;
import io.github.r2dbcrouting.RoutingMetricsRecorder;
import io.github.r2dbcrouting.RoutingView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.jspecify.annotations.Nullable;

/**
 * Records the router's measurements in a Micrometer {@link MeterRegistry}.
 *
 * <pre>{@code
 * RoutingConnectionFactory db = RoutingConnectionFactory.builder()
 *     .primary("primary", primary)
 *     .replica("replica-1", replica)
 *     .metrics(new MicrometerMetricsRecorder(registry))
 *     .build();
 * }</pre>
 *
 * <table>
 * <caption>Meters</caption>
 * <tr><th>name</th><th>type</th><th>tags</th></tr>
 * <tr><td>{@code r2dbc.routing.acquisitions}</td><td>counter</td><td>factory, node, route ({@code read}|{@code write})</td></tr>
 * <tr><td>{@code r2dbc.routing.fallbacks}</td><td>counter</td><td>factory, fallback ({@code primary}|{@code fail})</td></tr>
 * <tr><td>{@code r2dbc.routing.events}</td><td>counter</td><td>factory, node ({@code none} for topology events), type ({@code ejected}, {@code readmitted}, …)</td></tr>
 * <tr><td>{@code r2dbc.routing.probe}</td><td>timer</td><td>factory, node, outcome ({@code success}|{@code failure})</td></tr>
 * <tr><td>{@code r2dbc.routing.pool.acquired|idle|pending}</td><td>gauge</td><td>factory, node</td></tr>
 * </table>
 *
 * <p>Tags hold the factory's and the nodes' names only, never a URL or a credential. A
 * recorder serves one factory: {@link #bind} a second one fails. Counters are created once per
 * (node, route), so the per-acquisition path ({@link #recordRouted}) allocates nothing once warm.
 */
public final class MicrometerMetricsRecorder implements RoutingMetricsRecorder {

    static final String ACQUISITIONS = "r2dbc.routing.acquisitions";

    static final String FALLBACKS = "r2dbc.routing.fallbacks";

    static final String EVENTS = "r2dbc.routing.events";

    static final String PROBE = "r2dbc.routing.probe";

    static final String POOL_ACQUIRED = "r2dbc.routing.pool.acquired";

    static final String POOL_IDLE = "r2dbc.routing.pool.idle";

    static final String POOL_PENDING = "r2dbc.routing.pool.pending";

    private static final int WRITE = 0;

    private static final int READ = 1;

    private final MeterRegistry registry;

    /** Per node: the write counter at [0], the read counter at [1]. */
    private final Map<String, Counter[]> acquisitions = new ConcurrentHashMap<>();

    /** Per node: the success timer at [0], the failure timer at [1]. */
    private final Map<String, Timer[]> probes = new ConcurrentHashMap<>();

    private final Map<String, Boolean> gauged = new ConcurrentHashMap<>();

    private final List<Meter.Id> gauges = new CopyOnWriteArrayList<>();

    private volatile @Nullable Map<Fallback, Counter> fallbacks;

    private volatile @Nullable RoutingView factory;

    private volatile Tags factoryTags = Tags.empty();

    /**
     * @param registry where the meters go
     */
    public MicrometerMetricsRecorder(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
    }

    /**
     * Registers the pool gauges of every node of {@code factory}; nodes added later get theirs
     * when their {@code ADDED} event arrives.
     *
     * @throws IllegalStateException if this recorder is bound to another factory already
     */
    @Override
    public synchronized void bind(RoutingView factory) {
        Objects.requireNonNull(factory, "factory must not be null");
        RoutingView bound = this.factory;
        if (bound != null && bound != factory) {
            throw new IllegalStateException("this MicrometerMetricsRecorder is bound to factory '" + bound.name()
                + "' already; give factory '" + factory.name() + "' its own recorder");
        }
        this.factory = factory;
        this.factoryTags = Tags.of("factory", factory.name());
        Map<Fallback, Counter> counters = new EnumMap<>(Fallback.class);
        for (Fallback fallback : Fallback.values()) {
            counters.put(fallback, Counter.builder(FALLBACKS)
                .description("Reads that found no replica in rotation and went to the fallback")
                .tags(this.factoryTags).tag("fallback", lower(fallback))
                .register(this.registry));
        }
        this.fallbacks = counters;
        for (NodeSnapshot node : factory.nodes()) {
            registerGauges(factory, node.name());
        }
    }

    @Override
    public void recordRouted(String node, boolean readOnly) {
        Counter[] counters = this.acquisitions.get(node);
        if (counters == null) {
            counters = this.acquisitions.computeIfAbsent(node, this::newAcquisitionCounters);
        }
        counters[readOnly ? READ : WRITE].increment();
    }

    @Override
    public void recordFallback(Fallback fallback) {
        Map<Fallback, Counter> counters = this.fallbacks;
        Counter counter = counters == null ? null : counters.get(fallback);
        if (counter != null) {
            counter.increment();
        }
    }

    @Override
    public void recordProbe(String node, Duration latency, boolean success) {
        Timer[] timers = this.probes.get(node);
        if (timers == null) {
            timers = this.probes.computeIfAbsent(node, this::newProbeTimers);
        }
        timers[success ? 0 : 1].record(latency);
    }

    @Override
    public void recordEvent(RoutingEvent event) {
        String node = event.node();
        Counter.builder(EVENTS)
            .description("Changes in the router's view of its nodes")
            .tags(this.factoryTags)
            .tag("node", node == null ? "none" : node)
            .tag("type", lower(event.type()))
            .register(this.registry)
            .increment();
        RoutingView bound = this.factory;
        if (event.type() == RoutingEvent.Type.ADDED && node != null && bound != null) {
            registerGauges(bound, node);
        }
    }

    private Counter[] newAcquisitionCounters(String node) {
        Counter[] counters = new Counter[2];
        counters[WRITE] = acquisitionCounter(node, "write");
        counters[READ] = acquisitionCounter(node, "read");
        return counters;
    }

    private Counter acquisitionCounter(String node, String route) {
        return Counter.builder(ACQUISITIONS)
            .description("Connections routed to a node, by the route the pipeline asked for")
            .tags(this.factoryTags).tag("node", node).tag("route", route)
            .register(this.registry);
    }

    private Timer[] newProbeTimers(String node) {
        return new Timer[] {probeTimer(node, "success"), probeTimer(node, "failure")};
    }

    private Timer probeTimer(String node, String outcome) {
        return Timer.builder(PROBE)
            .description("Health probes of a node")
            .tags(this.factoryTags).tag("node", node).tag("outcome", outcome)
            .register(this.registry);
    }

    private void registerGauges(RoutingView factory, String node) {
        if (this.gauged.putIfAbsent(node, Boolean.TRUE) != null) {
            return;
        }
        gauge(factory, node, POOL_ACQUIRED, "Pooled connections in use", NodeSnapshot::acquired);
        gauge(factory, node, POOL_IDLE, "Pooled connections idle", NodeSnapshot::idle);
        gauge(factory, node, POOL_PENDING, "Acquisitions waiting for a pooled connection", NodeSnapshot::pending);
    }

    private void gauge(RoutingView factory, String node, String name, String description, ToIntFunction<NodeSnapshot> value) {
        Gauge gauge = Gauge.builder(name, factory, f -> read(f, node, value))
            .description(description)
            .tags(this.factoryTags).tag("node", node)
            .register(this.registry);
        this.gauges.add(gauge.getId());
    }

    /**
     * Removes the pool gauges of the closed factory (they would read a closed factory forever);
     * counters and timers stay, as their totals remain true.
     */
    @Override
    public synchronized void unbind(RoutingView factory) {
        if (this.factory != factory) {
            return;
        }
        for (Meter.Id id : this.gauges) {
            this.registry.remove(id);
        }
        this.gauges.clear();
        this.gauged.clear();
    }

    /** Runs when a gauge is read (a scrape), not per request. A removed node reads NaN. */
    private static double read(RoutingView factory, String node, ToIntFunction<NodeSnapshot> value) {
        List<NodeSnapshot> nodes = factory.nodes();
        for (NodeSnapshot snapshot : nodes) {
            if (snapshot.name().equals(node)) {
                return value.applyAsInt(snapshot);
            }
        }
        return Double.NaN;
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    @Override
    public String toString() {
        RoutingView bound = this.factory;
        return "MicrometerMetricsRecorder{" + (bound == null ? "unbound" : "factory=" + bound.name()) + "}";
    }
}
