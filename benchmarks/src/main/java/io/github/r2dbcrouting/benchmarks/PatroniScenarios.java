package io.github.r2dbcrouting.benchmarks;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.PatroniCluster;
import io.github.r2dbcrouting.testkit.PatroniMember;
import io.github.r2dbcrouting.topology.PatroniTopology;
import org.jspecify.annotations.Nullable;

/**
 * {@code ScenarioRunner --patroni}: the routing factory over a {@link PatroniTopology} on a
 * testkit Patroni cluster (etcd + 3 members), under 16 readers ({@code retryReads()}) and 2
 * writers: a switchover, a leader kill, a member added; and what polling Patroni costs. For each
 * fault: the time from Patroni reporting the new leader ({@code GET /cluster}, watched every 20 ms
 * from the outside) to the first write acknowledged by it, writes failed, acknowledged writes
 * missing on the new leader, reads failed. Writes {@code benchmarks/reports/<time>-patroni/report.md}.
 */
final class PatroniScenarios {

    private static final Pattern MEMBER = Pattern.compile("\\{[^{}]*\"name\":\\s*\"([^\"]+)\"[^{}]*\\}");

    private static final Duration WAIT = Duration.ofSeconds(90);

    private final PatroniCluster cluster;

    private final HttpClient http = HttpClient.newHttpClient();

    private final List<String> rows = new ArrayList<>();

    private PatroniScenarios(PatroniCluster cluster) {
        this.cluster = cluster;
    }

    static boolean requested(String[] args) {
        return Arrays.asList(args).contains("--patroni");
    }

    static Path run(Path out) throws IOException, InterruptedException {
        Path directory = out.resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-patroni");
        Files.createDirectories(directory);
        try (PatroniCluster cluster = PatroniCluster.builder().members(3).synchronousMode().build()) {
            cluster.awaitMembersStreaming(WAIT).execute("CREATE TABLE bench_ids (id bigint PRIMARY KEY)");
            PatroniScenarios scenarios = new PatroniScenarios(cluster);
            StringBuilder report = new StringBuilder();
            report.append("# Patroni topology source (").append(ScenarioRunner.machine()).append(")\n\n");
            report.append("16 readers (`retryReads()`), 2 writers (one INSERT every 20 ms each); factory: `PatroniTopology` interval 1 s, "
                + "health interval 1 s / timeout 500 ms (defaults); Patroni ttl 8 s, loop_wait 1 s, synchronous_mode (a commit returns once "
                + "the synchronous standby has it; only that standby is promoted, so a failover loses no acknowledged write).\n\n");
            report.append("| scenario | new leader reported -> first write on it | writes failed | acknowledged writes missing | "
                + "reads failed | reads |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
            // in synchronous_mode Patroni switches over to the synchronous standby only
            scenarios.fault("switchover", () -> cluster.switchover(cluster.awaitSyncStandby(WAIT)));
            cluster.awaitMembersStreaming(WAIT);
            scenarios.fault("leader kill", () -> {
                // in synchronous_mode Patroni promotes the synchronous standby only: with none named yet
                // (just after the switchover) it leaves the cluster without a leader, as it should
                cluster.awaitSyncStandby(WAIT);
                PatroniMember killed = cluster.killLeader();
                cluster.awaitNewLeader(killed, WAIT);
                killed.start();
            });
            scenarios.rows.forEach(report::append);
            cluster.awaitMembersStreaming(WAIT);
            report.append("\n").append(scenarios.memberAdded()).append("\n");
            cluster.awaitMembersStreaming(WAIT);
            report.append(scenarios.memberRemoved()).append("\n");
            cluster.awaitMembersStreaming(WAIT);
            PatroniCosts costs = new PatroniCosts(cluster, scenarios::factory);
            report.append(costs.polling()).append("\n").append(costs.idle()).append("\n");
            Files.writeString(directory.resolve("report.md"), report.toString());
            ScenarioRunner.log(report.toString());
        }
        return directory;
    }

    private RoutingConnectionFactory factory() {
        return RoutingConnectionFactory.builder()
            .topology(PatroniTopology.builder().urls(this.cluster.restUrls()).connections(this.cluster.members().get(0).options()).build())
            .pool(p -> p.maxSize(20))
            .build();
    }

    /** Whether {@code GET /cluster} lists {@code name} with PostgreSQL running (as a replica: streaming or running). */
    private boolean running(String name) {
        String body = clusterBody();
        Matcher matcher = MEMBER.matcher(body == null ? "" : body);
        while (matcher.find()) {
            String member = matcher.group();
            if (matcher.group(1).equals(name) && (member.contains("\"state\": \"streaming\"") || member.contains("\"state\": \"running\""))) {
                return true;
            }
        }
        return false;
    }

    private @Nullable String clusterBody() {
        try {
            for (String url : this.cluster.restUrls()) {
                try {
                    return this.http.send(HttpRequest.newBuilder(URI.create(url + "/cluster")).timeout(Duration.ofMillis(500)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                } catch (IOException unreachable) {
                    // the next member
                }
            }
            return null;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The leader's name and its state as {@code GET /cluster} says, or null. */
    private @Nullable String leaderName() {
        try {
            for (String url : this.cluster.restUrls()) {
                try {
                    String body = this.http.send(HttpRequest.newBuilder(URI.create(url + "/cluster")).timeout(Duration.ofMillis(500)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                    Matcher matcher = MEMBER.matcher(body);
                    while (matcher.find()) {
                        String member = matcher.group();
                        if (member.contains("\"role\": \"leader\"") && member.contains("\"state\": \"running\"")) {
                            return matcher.group(1);
                        }
                    }
                    return null;
                } catch (IOException unreachable) {
                    // the next member
                }
            }
            return null;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private void fault(String name, Runnable fault) throws InterruptedException {
        RoutingConnectionFactory factory = factory();
        PatroniLoad load = new PatroniLoad(factory);
        try {
            awaitReads(load, 500);
            String before = leaderName();
            AtomicLong reported = new AtomicLong();
            AtomicReferenceName newLeader = new AtomicReferenceName();
            AtomicBoolean watching = new AtomicBoolean(true);
            Thread watcher = new Thread(() -> {
                while (watching.get()) {
                    String now = leaderName();
                    if (now != null && !now.equals(before) && reported.get() == 0) {
                        reported.set(System.nanoTime());
                        newLeader.name = now;
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException interrupted) {
                        return;
                    }
                }
            }, "patroni-watch");
            // a daemon, stopped in any case: a fault that throws must not keep the JVM alive (it did once, for 20 minutes)
            watcher.setDaemon(true);
            watcher.start();
            int failedBefore = load.writesFailed.get();
            try {
                fault.run();
                long deadline = System.nanoTime() + WAIT.toNanos();
                while ((newLeader.name == null || load.firstWriteOn.get(this.cluster.member(newLeader.name).port()) == null)
                    && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            } finally {
                watching.set(false);
                watcher.join();
            }
            String leader = newLeader.name;
            Long firstWrite = leader == null ? null : load.firstWriteOn.get(this.cluster.member(leader).port());
            awaitReads(load, load.reads.get() + 500);
            load.stop();
            Set<Long> missing = leader == null ? Set.of() : load.missingOn(this.cluster.member(leader));
            String delta = firstWrite == null ? "never" : String.format(Locale.ROOT, "%.0f ms", (firstWrite - reported.get()) / 1e6);
            this.rows.add("| " + name + " | " + delta + " | " + (load.writesFailed.get() - failedBefore) + " | " + missing.size() + " | "
                + load.readsFailed.get() + " | " + load.reads.get() + " |\n");
        } finally {
            load.stop();
            factory.close().block(Duration.ofSeconds(30));
        }
    }

    private String memberAdded() throws InterruptedException {
        RoutingConnectionFactory factory = factory();
        PatroniLoad load = new PatroniLoad(factory);
        try {
            awaitReads(load, 200);
            PatroniMember added = this.cluster.addMember();
            long start = System.nanoTime();
            long reported = 0;
            long deadline = start + WAIT.toNanos();
            while (!load.readPorts.contains(added.port()) && System.nanoTime() < deadline) {
                if (reported == 0 && running(added.name())) {
                    reported = System.nanoTime();
                }
                Thread.sleep(20);
            }
            long firstRead = System.nanoTime();
            String joined = factory.nodes().stream().filter(n -> n.name().equals(added.name()))
                .map(n -> n.state() + " " + n.role()).findFirst().orElse("absent");
            load.stop();
            return String.format(Locale.ROOT, "Member added: first read on it %.0f ms after Patroni's `GET /cluster` "
                + "first listed it running (watched every 20 ms; %.0f ms after `addMember()` started it, which includes its "
                + "`pg_basebackup` clone; node now %s); reads failed %d of %d.%n",
                reported == 0 ? -1.0 : (firstRead - reported) / 1e6, (firstRead - start) / 1e6, joined, load.readsFailed.get(), load.reads.get());
        } finally {
            load.stop();
            factory.close().block(Duration.ofSeconds(30));
        }
    }

    /**
     * A replica stopped through Patroni (SIGTERM: Patroni shuts PostgreSQL down and leaves the
     * cluster's member list) under the load: reads failed (0 expected with {@code retryReads()}),
     * when the factory stopped reading from it and when it dropped the node.
     */
    private String memberRemoved() throws InterruptedException {
        RoutingConnectionFactory factory = factory();
        PatroniLoad load = new PatroniLoad(factory);
        PatroniMember leader = this.cluster.awaitLeader(WAIT);
        // an asynchronous replica: stopping the synchronous standby would hold the commits until Patroni names another
        PatroniMember sync = this.cluster.awaitSyncStandby(WAIT);
        PatroniMember removed = this.cluster.members().stream()
            .filter(m -> !m.name().equals(leader.name()) && !m.name().equals(sync.name()) && m.isRunning())
            .findFirst().orElseThrow();
        try {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!load.readPorts.contains(removed.port()) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            int failedBefore = load.readsFailed.get();
            int readsBefore = load.reads.get();
            long stoppedAt = System.nanoTime();
            removed.stop();
            long stopped = System.nanoTime();
            long gone = 0;
            while (gone == 0 && System.nanoTime() < deadline) {
                if (factory.nodes().stream().noneMatch(n -> n.name().equals(removed.name()))) {
                    gone = System.nanoTime();
                }
                Thread.sleep(20);
            }
            awaitReads(load, load.reads.get() + 500);
            load.stop();
            Long lastRead = load.lastReadOn.get(removed.port());
            return String.format(Locale.ROOT, "Member removed (`PatroniMember.stop()`: SIGTERM to Patroni, which stops PostgreSQL, "
                + "%.0f ms): reads failed %d of %d from the stop on (`retryReads()`); last read served by it %.0f ms after the stop "
                + "began; node gone from `nodes()` %s after the stop ended.%n", (stopped - stoppedAt) / 1e6,
                load.readsFailed.get() - failedBefore, load.reads.get() - readsBefore,
                lastRead == null ? -1.0 : (lastRead - stoppedAt) / 1e6,
                gone == 0 ? "never (within " + WAIT.toSeconds() + " s)" : String.format(Locale.ROOT, "%.0f ms", (gone - stopped) / 1e6));
        } finally {
            load.stop();
            factory.close().block(Duration.ofSeconds(30));
            removed.start();
        }
    }

    private static void awaitReads(PatroniLoad load, int count) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (load.reads.get() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    private static final class AtomicReferenceName {
        volatile @Nullable String name;
    }
}
