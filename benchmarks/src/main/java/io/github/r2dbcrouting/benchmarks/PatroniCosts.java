package io.github.r2dbcrouting.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import com.sun.management.OperatingSystemMXBean;
import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.PatroniCluster;
import io.github.r2dbcrouting.testkit.PatroniMember;

/** What following Patroni costs one application instance: its REST polling, and its probes and timers while idle. */
final class PatroniCosts {

    private static final Duration WAIT = Duration.ofSeconds(90);

    /** Linux's USER_HZ: {@code /proc} counts CPU time in hundredths of a second. */
    private static final double MILLIS_PER_TICK = 10;

    private final PatroniCluster cluster;

    private final Supplier<RoutingConnectionFactory> factory;

    private final HttpClient http = HttpClient.newHttpClient();

    PatroniCosts(PatroniCluster cluster, Supplier<RoutingConnectionFactory> factory) {
        this.cluster = cluster;
        this.factory = factory;
    }

    /**
     * What one idle application instance costs: its process's CPU time and each member's server
     * CPU time (PostgreSQL's processes and Patroni's, which answers the REST polling) over 20 s with
     * the factory started and no load, against 20 s without it. Linux only ({@code /proc}).
     */
    String idle() throws InterruptedException {
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        Duration window = Duration.ofSeconds(20);
        long[] before = serverCpuTicks();
        long cpu = os.getProcessCpuTime();
        Thread.sleep(window.toMillis());
        long idleCpu = os.getProcessCpuTime() - cpu;
        long[] idle = serverCpuTicks();
        RoutingConnectionFactory factory = this.factory.get();
        try {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (factory.nodes().stream().anyMatch(n -> n.state() != NodeState.UP || n.role() == NodeRole.UNKNOWN)
                && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(window.toMillis()); // warm-up: the first probes and polls also compile their code
            long[] start = serverCpuTicks();
            cpu = os.getProcessCpuTime();
            Thread.sleep(window.toMillis());
            long routingCpu = os.getProcessCpuTime() - cpu;
            long[] end = serverCpuTicks();
            StringBuilder perMember = new StringBuilder();
            for (int i = 0; i < end.length; i++) {
                double without = (idle[i] - before[i]) * MILLIS_PER_TICK / window.toSeconds();
                double with = (end[i] - start[i]) * MILLIS_PER_TICK / window.toSeconds();
                perMember.append(perMember.length() == 0 ? "" : ", ").append(this.cluster.members().get(i).name())
                    .append(String.format(Locale.ROOT, " %.1f -> %.1f ms/s", without, with));
            }
            return String.format(Locale.ROOT, "Idle cost of one application instance (health interval 1 s, Patroni interval 1 s, "
                + "no load, %d s each, the factory's after a warm-up as long): the runner's process CPU %.1f ms/s without a factory, %.1f ms/s with one (+%.1f ms/s); "
                + "server CPU per member (PostgreSQL's processes + Patroni's, `/proc`, %d ms ticks), without -> with: %s.%n",
                window.toSeconds(), idleCpu / 1e6 / window.toSeconds(), routingCpu / 1e6 / window.toSeconds(),
                (routingCpu - idleCpu) / 1e6 / window.toSeconds(), (long) MILLIS_PER_TICK, perMember);
        } finally {
            factory.close().block(Duration.ofSeconds(30));
        }
    }

    /** Each member's server CPU so far in clock ticks: Patroni and the PostgreSQL processes it runs. */
    private long[] serverCpuTicks() {
        List<PatroniMember> members = this.cluster.members();
        long[] ticks = new long[members.size()];
        for (int i = 0; i < ticks.length; i++) {
            PatroniMember member = members.get(i);
            if (member.isRunning()) {
                // Patroni, and the PostgreSQL it started (which it detaches: the postmaster's parent is init)
                long postmaster = member.postmasterPid();
                ticks[i] = cpuTicks(member.patroniPid()) + cpuTicks(postmaster)
                    + ProcessHandle.of(postmaster).map(p -> p.children().mapToLong(c -> cpuTicks(c.pid())).sum()).orElse(0L);
            }
        }
        return ticks;
    }

    /** utime + stime of a process, from {@code /proc/<pid>/stat} (fields 14 and 15), or 0 when it is gone. */
    private static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException gone) {
            return 0;
        }
    }

    /** One {@code GET /cluster} a second per application instance: what one costs. */
    String polling() throws InterruptedException {
        String url = this.cluster.restUrls().get(0) + "/cluster";
        long bytes = 0;
        int requests = 200;
        long total = 0;
        for (int i = 0; i < requests + 20; i++) {
            long start = System.nanoTime();
            try {
                String body = this.http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
                if (i >= 20) {
                    total += System.nanoTime() - start;
                    bytes = body.length();
                }
            } catch (IOException error) {
                return "REST polling cost: GET /cluster failed: " + error;
            }
        }
        return String.format(Locale.ROOT, "REST polling cost: one `GET /cluster` per second per application instance (`interval` 1 s); "
            + "mean %.2f ms per request over %d sequential requests, %d bytes per answer (3 members). Probes: one query per node "
            + "per `health.interval` on a dedicated connection per node, as without a source.%n", total / 1e6 / requests, requests, bytes);
    }
}
