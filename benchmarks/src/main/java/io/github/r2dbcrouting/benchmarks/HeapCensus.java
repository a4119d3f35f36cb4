package io.github.r2dbcrouting.benchmarks;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.management.ObjectName;

/**
 * The live objects of this JVM, class by class: the JVM's own class histogram
 * ({@code GC.class_histogram}, what {@code jmap -histo:live} prints; it runs a full GC first), of
 * the runner's own process. Comparing two says which classes kept more instances than they had,
 * which a used-heap figure cannot: whether the retired pools, their connections and their
 * metrics were released is a count of instances, not a number of bytes.
 *
 * @param classes live instances and their shallow bytes, by class name
 */
record HeapCensus(Map<String, Count> classes) {

    /** Live instances of one class and their shallow size in bytes. */
    record Count(long instances, long bytes) {
    }

    /** r2dbc-mariadb's connection class. */
    static final String MARIADB_CONNECTION = "org.mariadb.r2dbc.MariadbConnection";

    /** r2dbc-postgresql's connection class. */
    static final String POSTGRESQL_CONNECTION = "io.r2dbc.postgresql.PostgresqlConnection";

    private static final Pattern ROW = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");

    /**
     * The classes whose instances must not outnumber the baseline's once the factory is closed: the
     * library's (except the value objects the report keeps: node snapshots and retired-pool
     * figures), r2dbc-pool's and reactor-pool's, and the driver's connections.
     */
    static boolean watched(String name) {
        if (name.contains("$$Lambda")) {
            // a lambda that captures nothing is one instance cached at its call site from its first
            // use on; what a capturing one holds (a pool, a node, a connection) is counted in its own class
            return false;
        }
        if (enumConstants(name)) {
            // an enum's constants are made once, when its class is first used, whatever the soak did
            return false;
        }
        if (name.startsWith("io.github.r2dbcrouting.")) {
            return !name.startsWith("io.github.r2dbcrouting.benchmarks.") && !name.startsWith("io.github.r2dbcrouting.testkit.")
                && !name.equals("io.github.r2dbcrouting.NodeSnapshot") && !name.equals("io.github.r2dbcrouting.RetiredPool");
        }
        return name.startsWith("io.r2dbc.pool.") || name.startsWith("reactor.pool.")
            || name.equals("io.r2dbc.postgresql.PostgresqlConnection") || name.startsWith("io.r2dbc.postgresql.client.ReactorNettyClient")
            || name.equals(MARIADB_CONNECTION) || name.startsWith("org.mariadb.r2dbc.client.SimpleClient");
    }

    /** Whether the class is an enum (or an enum constant's body): a fixed number of instances once loaded. */
    private static boolean enumConstants(String name) {
        try {
            return Enum.class.isAssignableFrom(Class.forName(name, false, HeapCensus.class.getClassLoader()));
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * The driver's name resolver groups: r2dbc-postgresql 1.1.3 makes one per connection it opens
     * ({@code ReactorNettyClient.connect} configures {@code tcpClient.resolver(..)} per call), and the
     * shared event loops keep each, with a termination listener, for as long as they run.
     */
    static boolean resolver(String name) {
        return name.endsWith("AddressResolverGroup");
    }

    /** Takes the census now (a full GC, then the histogram). */
    static HeapCensus take() {
        String histogram;
        try {
            histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "gcClassHistogram", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        } catch (Exception e) {
            throw new IllegalStateException("the JVM's class histogram (DiagnosticCommand gcClassHistogram) is not available: " + e, e);
        }
        Map<String, Count> classes = new LinkedHashMap<>();
        for (String line : histogram.split("\n")) {
            Matcher row = ROW.matcher(line);
            if (row.find()) {
                classes.merge(row.group(3), new Count(Long.parseLong(row.group(1)), Long.parseLong(row.group(2))),
                    (a, b) -> new Count(a.instances() + b.instances(), a.bytes() + b.bytes()));
            }
        }
        return new HeapCensus(Map.copyOf(classes));
    }

    long instances(String name) {
        Count count = this.classes.get(name);
        return count == null ? 0 : count.instances();
    }

    /** Watched classes with more live instances here than in {@code before}: name -> "before -> after". */
    Map<String, String> leftSince(HeapCensus before) {
        Map<String, String> left = new LinkedHashMap<>();
        this.classes.keySet().stream().filter(HeapCensus::watched).sorted().forEach(name -> {
            long was = before.instances(name);
            long now = instances(name);
            if (now > was) {
                left.put(name, was + " -> " + now);
            }
        });
        return left;
    }

    /** Live instances of the watched classes, by class, only those with any. */
    Map<String, Long> watchedInstances() {
        Map<String, Long> live = new LinkedHashMap<>();
        this.classes.keySet().stream().filter(HeapCensus::watched).sorted().forEach(name -> live.put(name, instances(name)));
        live.values().removeIf(n -> n == 0);
        return live;
    }

    /** Live resolver groups ({@link #resolver}). */
    long resolverGroups() {
        return this.classes.entrySet().stream().filter(e -> resolver(e.getKey())).mapToLong(e -> e.getValue().instances()).sum();
    }

    /** The {@code limit} classes whose shallow bytes grew most since {@code before}: name -> "+instances, +bytes". */
    List<String> grownMostSince(HeapCensus before, int limit) {
        List<Map.Entry<String, Long>> grown = new ArrayList<>();
        this.classes.forEach((name, count) -> {
            Count was = before.classes.get(name);
            long bytes = count.bytes() - (was == null ? 0 : was.bytes());
            if (bytes > 0) {
                grown.add(Map.entry(name, bytes));
            }
        });
        grown.sort(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()));
        List<String> rows = new ArrayList<>();
        for (Map.Entry<String, Long> entry : grown.subList(0, Math.min(limit, grown.size()))) {
            Count was = before.classes.get(entry.getKey());
            rows.add(entry.getKey() + " +" + (this.classes.get(entry.getKey()).instances() - (was == null ? 0 : was.instances())) + " ("
                + "+" + entry.getValue() + " B)");
        }
        return rows;
    }
}
