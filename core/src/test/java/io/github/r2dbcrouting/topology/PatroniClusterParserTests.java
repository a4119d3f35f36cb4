package io.github.r2dbcrouting.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class PatroniClusterParserTests {

    private static final String URL = "http://pg-0:8008";

    /** Patroni 3.0.2 (Debian 12), captured from a testkit cluster: replicas report "running". */
    private static final String PATRONI_3_0 = """
            {"members": [{"name": "m0", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:24010/patroni",
              "host": "127.0.0.1", "port": 25010, "timeline": 1},
             {"name": "m1", "role": "replica", "state": "running", "api_url": "http://127.0.0.1:24011/patroni",
              "host": "127.0.0.1", "port": 25011, "timeline": 1, "lag": 0},
             {"name": "m2", "role": "replica", "state": "starting", "api_url": "http://127.0.0.1:24012/patroni",
              "host": "127.0.0.1", "port": 25012, "lag": "unknown"}]}
            """;

    /** Patroni 4 shape: replication state as state, receive/replay lag, sync and quorum roles, tags, pause. */
    private static final String PATRONI_4 = """
            {"members": [
              {"name": "a", "role": "leader", "state": "running", "host": "10.0.0.1", "port": 5432, "timeline": 3},
              {"name": "b", "role": "sync_standby", "state": "streaming", "host": "10.0.0.2", "port": 5432,
               "lsn": "0/5000060", "lag": 16, "receive_lsn": "0/5000060", "receive_lag": 0, "replay_lag": 16},
              {"name": "c", "role": "quorum_standby", "state": "in archive recovery", "host": "10.0.0.3", "port": 5432,
               "lag": 1048576, "tags": {"nofailover": true}},
              {"name": "d", "role": "replica", "state": "streaming", "host": "10.0.0.4", "port": 5432,
               "lag": 0, "tags": {"noloadbalance": "true", "clonefrom": true}},
              {"name": "e", "role": "replica", "state": "stopped", "host": "10.0.0.5", "port": 5432, "lag": "unknown"},
              {"name": "f", "role": "witness", "state": "running", "host": "10.0.0.6", "port": 5432}],
             "pause": true, "scheduled_switchover": {"at": "2030-01-01T00:00:00+00:00", "from": "a"}}
            """;

    @Test
    void shouldReadPatroni30Answer() {
        PatroniClusterState state = PatroniClusterParser.parse(PATRONI_3_0, URL);
        assertThat(state.members()).extracting(PatroniMember::name).containsExactly("m0", "m1", "m2");
        assertThat(state.paused()).isFalse();
        assertThat(state.sourceUrl()).isEqualTo(URL);
        PatroniMember leader = state.member("m0");
        assertThat(leader.role()).isEqualTo(PatroniRole.LEADER);
        assertThat(leader.host()).isEqualTo("127.0.0.1");
        assertThat(leader.port()).isEqualTo(25010);
        assertThat(leader.lagBytes()).isNull();
        assertThat(leader.timeline()).isEqualTo(1L);
        assertThat(leader.apiUrl()).isEqualTo("http://127.0.0.1:24010/patroni");
        assertThat(state.leader()).isEqualTo(leader);
        assertThat(state.writer()).isEqualTo(leader);
        assertThat(state.member("m1").lagBytes()).isEqualTo(0L);
        assertThat(state.member("m2").lagBytes()).as("'unknown' lag").isNull();
        assertThat(state.readers()).extracting(PatroniMember::name).containsExactly("m1");
    }

    @Test
    void shouldHandleMembersTheWayPatronisHaproxyTemplateDoes() {
        PatroniClusterState state = PatroniClusterParser.parse(PATRONI_4, URL);
        assertThat(state.paused()).isTrue();
        assertThat(state.writer()).extracting(PatroniMember::name).isEqualTo("a");
        // sync and quorum standbys read; nofailover still reads; noloadbalance, stopped and unknown roles do not
        assertThat(state.readers()).extracting(PatroniMember::name).containsExactly("b", "c");
        assertThat(state.member("c").noFailover()).isTrue();
        assertThat(state.member("d").noLoadBalance()).as("tag given as a string").isTrue();
        assertThat(state.member("d").isRunning()).isTrue();
        assertThat(state.member("e").isRunning()).isFalse();
        assertThat(state.member("f").role()).isEqualTo(PatroniRole.UNKNOWN);
        assertThat(state.member("c").lagBytes()).isEqualTo(1048576L);
    }

    @Test
    void shouldNotTrustStandbyLeaderWithWritesOrReads() {
        PatroniClusterState state = PatroniClusterParser.parse("""
                {"members": [{"name": "s", "role": "standby_leader", "state": "streaming", "host": "h", "port": 5432}]}
                """, URL);
        assertThat(state.leader()).extracting(PatroniMember::name).isEqualTo("s");
        assertThat(state.writer()).isNull();
        assertThat(state.readers()).isEmpty();
    }

    @Test
    void shouldNotTrustLeaderThatIsNotRunning() {
        PatroniClusterState state = PatroniClusterParser.parse("""
                {"members": [{"name": "a", "role": "leader", "state": "starting", "host": "h", "port": 5432},
                             {"name": "b", "role": "replica", "state": "running"}]}
                """, URL);
        assertThat(state.writer()).isNull();
        assertThat(state.readers()).as("a member without host and port").isEmpty();
    }

    @Test
    void shouldReadEmptyCluster() {
        assertThat(PatroniClusterParser.parse("{\"members\": []}", URL).members()).isEmpty();
    }

    @Test
    void shouldRefuseAnswersThatAreNotPatronis() {
        for (var bad : List.of(
                List.of("<html>Welcome to nginx</html>", "the answer is not JSON: unexpected character '<' at offset 0"),
                List.of("{\"status\": \"ok\"}", "the answer has no \"members\" array"),
                List.of("[1, 2]", "the answer has no \"members\" array"),
                List.of("{\"members\": [1]}", "a member is not an object"),
                List.of("{\"members\": [{\"role\": \"leader\"}]}", "a member has no \"name\""),
                List.of("{\"members\": [{\"name\": \"x\"}]}", "member 'x' has no \"role\""),
                List.of("{\"members\": [", "the answer is not JSON: unexpected end at offset 13"),
                List.of("[".repeat(100), "the answer is not JSON: nested deeper than 32 at offset 32"))) {
            assertThatThrownBy(() -> PatroniClusterParser.parse(bad.get(0), URL))
                .isInstanceOf(PatroniRestException.class)
                .hasMessage("GET http://pg-0:8008/cluster did not answer like Patroni's REST API: " + bad.get(1));
        }
    }

}
