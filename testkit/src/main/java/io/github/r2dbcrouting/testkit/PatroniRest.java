package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * What the testkit asks a {@link PatroniCluster}'s members through Patroni's REST API: the
 * cluster's state ({@code GET /cluster}), who leads and whether the others stream from the leader
 * (the waits of the cluster's tests and of its start), and switchovers.
 */
final class PatroniRest {

    private static final Logger LOG = Loggers.getLogger(PatroniRest.class);

    /** The cluster's members, as they are added; read only. */
    private final List<PatroniMember> members;

    PatroniRest(List<PatroniMember> members) {
        this.members = members;
    }

    /**
     * Patroni's {@code GET /cluster} answer (raw JSON) from the first running member that gives one.
     * @throws IllegalStateException when no running member answers
     */
    String clusterJson() {
        StringBuilder failures = new StringBuilder();
        for (PatroniMember member : members) {
            if (!member.isRunning()) {
                continue;
            }
            try {
                Http.Response response = Http.get(member.restUrl() + "/cluster");
                if (response.status() == 200) {
                    return response.body();
                }
                failures.append(member.name()).append(": HTTP ").append(response.status()).append("; ");
            }
            catch (IOException ex) {
                failures.append(member.name()).append(": ").append(ex).append("; ");
            }
        }
        throw new IllegalStateException("no running member answered GET /cluster: " + failures);
    }

    /**
     * The members of {@code GET /cluster} by name (each a map with {@code role}, {@code state},
     * {@code host}, {@code port}, {@code lag}, …), or an empty map when no member answers.
     */
    Map<String, Map<String, @Nullable Object>> clusterView() {
        Map<String, Map<String, @Nullable Object>> view = new LinkedHashMap<>();
        try {
            if (Json.parse(clusterJson()) instanceof Map<?, ?> root && root.get("members") instanceof List<?> list) {
                for (Object entry : list) {
                    if (entry instanceof Map<?, ?> map && map.get("name") instanceof String name) {
                        @SuppressWarnings("unchecked")
                        Map<String, @Nullable Object> member = (Map<String, @Nullable Object>) map;
                        view.put(name, member);
                    }
                }
            }
        }
        catch (IllegalStateException | IllegalArgumentException ex) {
            // nobody answers, or mid-restart garbage: no view now
        }
        return view;
    }

    /**
     * Waits until Patroni names a running leader, other than {@code notThis} when given, whose REST
     * API answers {@code GET /primary} with 200 and whose server is out of recovery, and returns it.
     * @throws AssertionError naming the cluster state when {@code timeout} passes
     */
    PatroniMember awaitLeader(Duration timeout, @Nullable PatroniMember notThis) {
        PatroniMember[] found = new PatroniMember[1];
        Await.until(notThis == null ? "a Patroni leader" : "a Patroni leader other than '" + notThis.name() + "'",
                timeout, () -> {
                    found[0] = currentLeader();
                    return found[0] != null && found[0] != notThis;
                }, () -> "(cluster: " + clusterView() + ")");
        return found[0];
    }

    /** The member that Patroni says leads, runs, answers {@code /primary} and is out of recovery; null when none. */
    @Nullable PatroniMember currentLeader() {
        for (Map.Entry<String, Map<String, @Nullable Object>> entry : clusterView().entrySet()) {
            Map<String, @Nullable Object> view = entry.getValue();
            if ("leader".equals(view.get("role")) && "running".equals(view.get("state"))) {
                PatroniMember member = NodeList.named(members, PatroniMember::name, entry.getKey(), "member", "this Patroni cluster");
                try {
                    if (member.isRunning() && Http.get(member.restUrl() + "/primary").status() == 200
                            && !member.isInRecovery()) {
                        return member;
                    }
                }
                catch (IOException | IllegalStateException ex) {
                    return null;
                }
            }
        }
        return null;
    }

    /**
     * Waits until there is a leader and every other running member streams from it: the
     * leader's {@code pg_stat_replication} lists it (by its name, Patroni's
     * {@code application_name}) in state {@code streaming}.
     * @return the leader
     */
    PatroniMember awaitMembersStreaming(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        PatroniMember leader = awaitLeader(timeout, null);
        List<String> expected = members.stream()
            .filter(m -> m != leader && m.isRunning())
            .map(PatroniMember::name)
            .sorted()
            .toList();
        if (expected.isEmpty()) {
            return leader;
        }
        String sql = "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication "
                + "WHERE state = 'streaming' AND application_name IN ("
                + expected.stream().map(n -> "'" + n + "'").collect(Collectors.joining(",")) + ")";
        String want = String.join(",", expected);
        String[] last = new String[1];
        Await.until("members " + expected + " streaming from leader '" + leader.name() + "'",
                Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), () -> {
                    try {
                        last[0] = leader.queryString(sql);
                    }
                    catch (IllegalStateException ex) {
                        last[0] = ex.getMessage();
                    }
                    return want.equals(last[0]);
                }, () -> "(streaming: " + last[0] + "; cluster: " + clusterView() + ")");
        return leader;
    }

    /**
     * Waits until {@code GET /cluster} names a running {@code sync_standby} (a cluster in
     * {@code synchronous_mode}) and returns it.
     */
    PatroniMember awaitSyncStandby(Duration timeout) {
        PatroniMember[] found = new PatroniMember[1];
        Await.until("a Patroni synchronous standby", timeout, () -> {
            for (Map.Entry<String, Map<String, @Nullable Object>> entry : clusterView().entrySet()) {
                // Patroni 3.0 says "running" for a replica, later versions "streaming"
                Object state = entry.getValue().get("state");
                if ("sync_standby".equals(entry.getValue().get("role")) && ("running".equals(state) || "streaming".equals(state))) {
                    found[0] = NodeList.named(members, PatroniMember::name, entry.getKey(), "member", "this Patroni cluster");
                    return found[0].isRunning();
                }
            }
            return false;
        }, () -> "(cluster: " + clusterView() + ")");
        return found[0];
    }

    /**
     * Switches the leader over to {@code candidate} with {@code POST /switchover} on the leader and
     * waits until the candidate leads.
     */
    PatroniMember switchover(PatroniMember candidate, Duration timeout, Duration requestTimeout) {
        PatroniMember leader = awaitLeader(timeout, null);
        if (leader == candidate) {
            throw new IllegalArgumentException("member '" + candidate.name() + "' already leads; nothing to switch over");
        }
        String body = "{\"leader\": " + Json.quote(leader.name()) + ", \"candidate\": " + Json.quote(candidate.name())
                + "}";
        long begin = System.nanoTime();
        Http.Response response;
        try {
            response = Http.post(leader.restUrl() + "/switchover", body, requestTimeout);
        }
        catch (IOException ex) {
            throw new IllegalStateException("POST " + leader.restUrl() + "/switchover failed: " + ex, ex);
        }
        if (response.status() != 200) {
            throw new IllegalStateException("Patroni refused the switchover from '" + leader.name() + "' to '"
                    + candidate.name() + "': HTTP " + response.status() + " " + response.body());
        }
        Await.until("member '" + candidate.name() + "' leading after the switchover", timeout,
                () -> currentLeader() == candidate, () -> "(cluster: " + clusterView() + ")");
        LOG.info("Switchover from '{}' to '{}' took {} ms ({})", leader.name(), candidate.name(),
                (System.nanoTime() - begin) / 1_000_000, response.body().trim());
        return candidate;
    }

}
