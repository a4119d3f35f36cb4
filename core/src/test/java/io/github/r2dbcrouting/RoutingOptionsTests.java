package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.Option;
import org.junit.jupiter.api.Test;

/** The option table: one row per builder setting, text read the documented way, errors naming the option. */
class RoutingOptionsTests {

    /** Builder methods of the factory that take objects, not values a URL or a properties file can hold. */
    private static final Set<String> NOT_OPTIONS = Set.of("primary", "replica", "pool", "health", "listener", "scheduler", "metrics",
        "clock", "build",
        // a TopologySource is an object, not text: the URL names one through its hosts or its patroni option
        "topology");

    /** Options named differently from their builder method. */
    private static final Map<String, String> RENAMED = Map.of("whenNoReplica", "fallback");

    /** A text value per option, and what it must read as; each differs from the default. */
    private static final Map<String, Object[]> SAMPLES = new LinkedHashMap<>();

    static {
        sample("name", "orders", "orders");
        sample("balancer", "LEAST_IN_USE", "least-in-use");
        sample("weights", "replica-1:3, replica-2:1", Map.of("replica-1", 3, "replica-2", 1));
        sample("fallback", "fail", Fallback.FAIL);
        sample("sessionWait", "250ms", Duration.ofMillis(250));
        sample("startupWait", "2s", Duration.ofSeconds(2));
        sample("pool.maxSize", "7", 7);
        sample("pool.initialSize", "1", 1);
        sample("pool.minIdle", "2", 2);
        sample("pool.maxAcquireTime", "PT0.75S", Duration.ofMillis(750));
        sample("pool.maxCreateConnectionTime", "4s", Duration.ofSeconds(4));
        sample("pool.maxValidationTime", "0", Duration.ZERO);
        sample("pool.maxIdleTime", "5m", Duration.ofMinutes(5));
        sample("pool.maxLifeTime", "2h", Duration.ofHours(2));
        sample("pool.acquireRetry", "1", 1);
        sample("pool.validationQuery", "SELECT 2", "SELECT 2");
        sample("health.interval", "2s", Duration.ofSeconds(2));
        sample("health.timeout", "500ms", Duration.ofMillis(500));
        sample("health.failuresToEject", "3", 3);
        sample("health.successesToReadmit", "4", 4);
        sample("health.maxLagBytes", "16777216", 16_777_216L);
        sample("health.maxLagTime", "10s", Duration.ofSeconds(10));
        sample("health.validationQuery", "SELECT 3", "SELECT 3");
    }

    private static void sample(String option, String text, Object expected) {
        SAMPLES.put(option, new Object[] {text, expected});
    }

    @Test
    void shouldHaveOneOptionPerBuilderSettingAndNoOther() {
        Set<String> settings = new TreeSet<>();
        settings.addAll(setters(PoolSettings.Builder.class, "pool."));
        settings.addAll(setters(HealthSettings.Builder.class, "health."));
        settings.addAll(setters(RoutingConnectionFactoryBuilder.class, ""));
        settings.add("weights"); // the argument of Balancer.weightedRandom(Map)
        Set<String> options = RoutingOptions.all().stream().map(Option::name).collect(Collectors.toCollection(TreeSet::new));
        assertThat(options).as("RoutingOptions (add a row to OptionTable for each new builder setting)").isEqualTo(settings);
        assertThat(RoutingOptions.all()).as("declared once").doesNotHaveDuplicates();
    }

    @Test
    void shouldDeclareEveryOptionAsAConstant() throws IllegalAccessException {
        Set<Object> constants = new TreeSet<>();
        for (Field field : RoutingOptions.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == Option.class) {
                constants.add(((Option<?>) field.get(null)).name());
            }
        }
        assertThat(constants).isEqualTo(RoutingOptions.all().stream().map(Option::name).collect(Collectors.toCollection(TreeSet::new)));
    }

    @Test
    void shouldApplyEveryOptionFromText() {
        assertThat(SAMPLES.keySet()).as("a sample for every option").containsExactlyInAnyOrderElementsOf(
            RoutingOptions.all().stream().map(Option::name).toList());
        for (Option<?> option : RoutingOptions.all()) {
            Object[] sample = SAMPLES.get(option.name());
            OptionTable.Row<?> row = OptionTable.row(option);
            OptionTable.Collected collected = OptionTable.collect(asked -> asked.equals(option) ? sample[0] : null);
            assertThat((Object) row.get(collected)).as(option.name()).isEqualTo(sample[1]);
            assertThat((Object) row.get(new OptionTable.Collected())).as(option.name() + " sample differs from the default")
                .isNotEqualTo(sample[1]);
        }
    }

    @Test
    void shouldDocumentDefaultsThatReadBackToTheBuildersDefaults() {
        for (Option<?> option : RoutingOptions.all()) {
            assertThat(RoutingOptions.description(option)).as(option.name()).isNotBlank().endsWith(".");
            String text = RoutingOptions.defaultValue(option);
            Object actual = OptionTable.row(option).get(new OptionTable.Collected());
            if (actual != null) {
                Object read = OptionTable.row(option).kind.read.apply(option.name(), String.valueOf(text));
                assertThat(read).as(option.name()).isEqualTo(actual);
            }
        }
        assertThat(RoutingOptions.defaultValue(RoutingOptions.HEALTH_INTERVAL)).isEqualTo("1s");
        assertThat(RoutingOptions.defaultValue(RoutingOptions.POOL_MAX_IDLE_TIME)).isEqualTo("30m");
        assertThat(RoutingOptions.defaultValue(RoutingOptions.POOL_MAX_LIFE_TIME)).isEqualTo("0");
        assertThat(RoutingOptions.defaultValue(RoutingOptions.POOL_VALIDATION_QUERY)).isNull();
        assertThat(RoutingOptions.defaultValue(RoutingOptions.WEIGHTS)).isNull();
        assertThat(RoutingOptions.type(RoutingOptions.HEALTH_MAX_LAG_BYTES)).isEqualTo(Long.class);
    }

    /** The factory builder has no getters: its fields are read so that a changed default fails here until the row says it. */
    @Test
    void shouldDocumentTheFactoryBuildersOwnDefaults() throws ReflectiveOperationException {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder();
        assertThat(field(builder, "name")).isEqualTo(RoutingOptions.defaultValue(RoutingOptions.NAME));
        assertThat(field(builder, "sessionWait"))
            .isEqualTo(RoutingOptions.read(RoutingOptions.SESSION_WAIT, String.valueOf(RoutingOptions.defaultValue(RoutingOptions.SESSION_WAIT))));
        assertThat(field(builder, "fallback"))
            .isEqualTo(RoutingOptions.read(RoutingOptions.FALLBACK, String.valueOf(RoutingOptions.defaultValue(RoutingOptions.FALLBACK))));
        assertThat(RoutingOptions.defaultValue(RoutingOptions.BALANCER)).isEqualTo("round-robin");
        assertThat(field(builder, "balancer")).isInstanceOf(Balancers.RoundRobin.class);
    }

    private static Object field(Object target, String name) throws ReflectiveOperationException {
        Field field = target.getClass().getDeclaredField(name);
        field.setAccessible(true);
        return field.get(target);
    }

    @Test
    void shouldReadDurations() {
        assertThat(duration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(duration(" 1s ")).isEqualTo(Duration.ofSeconds(1));
        assertThat(duration("PT1S")).isEqualTo(Duration.ofSeconds(1));
        assertThat(duration("pt0.25s")).isEqualTo(Duration.ofMillis(250));
        assertThat(duration("1500")).isEqualTo(Duration.ofMillis(1500));
        assertThat(duration("0")).isEqualTo(Duration.ZERO);
        assertThat(duration("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(duration("2H")).isEqualTo(Duration.ofHours(2));
        assertThat(duration("1d")).isEqualTo(Duration.ofDays(1));
        assertThat(duration("10us")).isEqualTo(Duration.ofNanos(10_000));
        assertThat(duration("7ns")).isEqualTo(Duration.ofNanos(7));
        assertThat(duration("-1s")).isEqualTo(Duration.ofSeconds(-1));
        assertThat(OptionValues.duration("x", Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
        assertThat(OptionValues.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(OptionValues.format(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(OptionValues.format(Duration.ofNanos(10))).isEqualTo("PT0.00000001S");
    }

    @Test
    void shouldRefuseTextThatIsNotADuration() {
        assertInvalid(RoutingOptions.HEALTH_INTERVAL, "5x",
            "health.interval: '5x' has an unknown unit; use ns, us, ms, s, m, h or d (e.g. 500ms) or ISO-8601 (PT1S)");
        assertInvalid(RoutingOptions.HEALTH_INTERVAL, "fast", "health.interval: 'fast' is not a duration; use e.g. 500ms, 1s, 5m or PT1S");
        assertInvalid(RoutingOptions.HEALTH_INTERVAL, "PTxS", "health.interval: 'PTxS' is not a duration; use e.g. 500ms, 1s, 5m or PT1S");
        assertInvalid(RoutingOptions.SESSION_WAIT, "", "sessionWait: '' is not a duration; use e.g. 500ms, 1s, 5m or PT1S");
    }

    @Test
    void shouldReadNumbersNamesAndWeights() {
        assertThat(OptionValues.integer("x", " 12 ")).isEqualTo(12);
        assertThat(OptionValues.longValue("x", 12)).isEqualTo(12L);
        assertThat(OptionValues.oneOf("balancer", "leastInUse", OptionTable.BALANCERS)).isEqualTo("least-in-use");
        assertThat(OptionValues.oneOf("balancer", "ROUND_ROBIN", OptionTable.BALANCERS)).isEqualTo("round-robin");
        assertThat(OptionValues.fallback("fallback", "PRIMARY")).isEqualTo(Fallback.PRIMARY);
        assertThat(OptionValues.weights("weights", "a:1,b : 2")).containsExactly(Map.entry("a", 1), Map.entry("b", 2));
        assertThat(OptionValues.weights("weights", Map.of("a", "3"))).containsExactly(Map.entry("a", 3));
        assertInvalid(RoutingOptions.POOL_MAX_SIZE, "ten", "pool.maxSize: 'ten' is not a whole number");
        assertInvalid(RoutingOptions.HEALTH_MAX_LAG_BYTES, "16MB", "health.maxLagBytes: '16MB' is not a whole number");
        assertInvalid(RoutingOptions.BALANCER, "fastest",
            "balancer: 'fastest' is not one of [round-robin, random, least-in-use, weighted-random]");
        assertInvalid(RoutingOptions.FALLBACK, "somewhere", "fallback: 'somewhere' is not one of [primary, fail]");
        assertInvalid(RoutingOptions.WEIGHTS, "replica-1",
            "weights: 'replica-1' is not a list of replica:weight pairs such as replica-1:3,replica-2:1");
        assertInvalid(RoutingOptions.WEIGHTS, "replica-1:x",
            "weights: 'replica-1:x' is not a list of replica:weight pairs such as replica-1:3,replica-2:1");
        assertInvalid(RoutingOptions.WEIGHTS, "a:1,a:2", "weights: 'a:1,a:2' names replica 'a' twice");
    }

    @Test
    void shouldNameTheOptionTheBuilderRefuses() {
        assertInvalid(RoutingOptions.HEALTH_INTERVAL, "-1s",
            "health.interval must be positive (or Duration.ZERO to switch probing off), was PT-1S");
        assertInvalid(RoutingOptions.SESSION_WAIT, "-5ms", "sessionWait must not be negative, was PT-0.005S");
        assertInvalid(RoutingOptions.POOL_MAX_SIZE, "0", "pool.maxSize must be at least 1, was 0");
        assertInvalid(RoutingOptions.NAME, " ", "name must not be blank, was ''");
        assertInvalid(RoutingOptions.WEIGHTS, "replica-1:0", "weight of replica 'replica-1' must be at least 1, was 0");
    }

    @Test
    void shouldBlameTheSettingNamedByACheckAcrossSettings() {
        assertThatThrownBy(() -> apply(Map.of(RoutingOptions.POOL_MAX_SIZE, "2", RoutingOptions.POOL_MIN_IDLE, "3")))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("pool.minIdle"))
            .hasMessage("pool.minIdle must not exceed pool.maxSize (2), was 3");
        assertThatThrownBy(() -> apply(Map.of(RoutingOptions.HEALTH_INTERVAL, "1s", RoutingOptions.HEALTH_TIMEOUT, "2s")))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("health.timeout"))
            .hasMessage("health.timeout must not exceed health.interval (PT1S), was PT2S");
        assertThatThrownBy(() -> apply(Map.of(RoutingOptions.BALANCER, "least-in-use", RoutingOptions.WEIGHTS, "replica-1:2")))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo("weights"))
            .hasMessage("weights apply to the weighted-random balancer only, but balancer is 'least-in-use': remove one of the two");
    }

    @Test
    void shouldConfigureAFactoryFromUrlOptions() {
        ConnectionFactoryOptions options = ConnectionFactoryOptions.parse(
            "r2dbc:routing:postgresql://pg-0/app?name=orders&weights=replica-1:3&fallback=fail&pool.maxSize=3&health.interval=0");
        RoutingConnectionFactory factory = RoutingOptions.apply(RoutingConnectionFactory.builder(), options)
            .primary("primary", new StubConnectionFactory("primary"))
            .replica("replica-1", new StubConnectionFactory("replica-1"))
            .build();
        try {
            assertThat(factory.name()).isEqualTo("orders");
            assertThat(factory.toString()).contains("weightedRandom{replica-1=3}", "fallback=FAIL");
            assertThat(factory.nodes()).allSatisfy(node -> assertThat(node.maxSize()).isEqualTo(3));
        } finally {
            factory.close().block(Duration.ofSeconds(10));
        }
    }

    @Test
    void shouldKeepTheBuildersSettingsForOptionsNotGiven() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .pool(pool -> pool.maxSize(3))
            .balancer(Balancer.leastInUse())
            .health(health -> health.interval(Duration.ZERO));
        RoutingConnectionFactory factory = RoutingOptions.apply(builder, Map.of(RoutingOptions.HEALTH_INTERVAL, (Object) Duration.ZERO)::get)
            .primary("primary", new StubConnectionFactory("primary"))
            .build();
        try {
            assertThat(factory.nodes()).allSatisfy(node -> assertThat(node.maxSize()).isEqualTo(3));
            assertThat(factory.toString()).contains("leastInUse");
        } finally {
            factory.close().block(Duration.ofSeconds(10));
        }
    }

    private static Set<String> setters(Class<?> builder, String prefix) {
        return Arrays.stream(builder.getMethods())
            .filter(method -> method.getDeclaringClass() == builder && !Modifier.isStatic(method.getModifiers()))
            .filter(method -> method.getParameterCount() == 1 && method.getReturnType() == builder)
            .map(Method::getName)
            .filter(name -> !NOT_OPTIONS.contains(name) || !prefix.isEmpty())
            .map(name -> prefix + RENAMED.getOrDefault(name, name))
            .collect(Collectors.toSet());
    }

    private static Duration duration(String text) {
        return OptionValues.duration("x", text);
    }

    private static void apply(Map<Option<?>, Object> values) {
        RoutingOptions.apply(RoutingConnectionFactory.builder(), values::get);
    }

    private static void assertInvalid(Option<?> option, String text, String message) {
        assertThatThrownBy(() -> apply(Map.of(option, text)))
            .isInstanceOfSatisfying(InvalidOptionException.class, error -> assertThat(error.option()).isEqualTo(option.name()))
            .hasMessage(message);
    }
}
