package io.github.r2dbcrouting.topology;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Reads Patroni's {@code GET /cluster} answer ({@code patroni.utils.cluster_as_json}, the same
 * shape from Patroni 2 to 4):
 *
 * <pre>{@code
 * {"members": [{"name": "pg-0", "role": "leader", "state": "running", "api_url": "http://h:8008/patroni",
 *               "host": "h", "port": 5432, "timeline": 2},
 *              {"name": "pg-1", "role": "replica", "state": "streaming", "host": "h1", "port": 5432,
 *               "lag": 0, "tags": {"nofailover": true}}],
 *  "pause": true}
 * }</pre>
 *
 * {@code lag} is bytes behind the leader, or {@code "unknown"}; absent for the leader. Fields this
 * client does not use ({@code receive_lag}, {@code scheduled_switchover}, …) are ignored.
 */
final class PatroniClusterParser {

    private PatroniClusterParser() {
    }

    /**
     * @param url the URL that answered, without credentials, for messages
     * @throws PatroniRestException naming {@code url} when the body is not Patroni's cluster JSON
     */
    static PatroniClusterState parse(String body, String url) {
        Object root;
        try {
            root = Json.parse(body);
        }
        catch (IllegalArgumentException ex) {
            throw notPatroni(url, "the answer is " + ex.getMessage());
        }
        if (!(root instanceof Map<?, ?> map) || !(map.get("members") instanceof List<?> list)) {
            throw notPatroni(url, "the answer has no \"members\" array");
        }
        List<PatroniMember> members = new ArrayList<>(list.size());
        for (Object entry : list) {
            if (!(entry instanceof Map<?, ?> member)) {
                throw notPatroni(url, "a member is not an object");
            }
            members.add(member(member, url));
        }
        return new PatroniClusterState(members, Boolean.TRUE.equals(map.get("pause")), url);
    }

    private static PatroniMember member(Map<?, ?> member, String url) {
        if (!(member.get("name") instanceof String name) || name.isEmpty()) {
            throw notPatroni(url, "a member has no \"name\"");
        }
        if (!(member.get("role") instanceof String role)) {
            throw notPatroni(url, "member '" + name + "' has no \"role\"");
        }
        String state = member.get("state") instanceof String s ? s : "";
        String host = member.get("host") instanceof String h ? h : null;
        int port = member.get("port") instanceof Long p && p > 0 && p <= 65535 ? p.intValue() : 0;
        Long lag = member.get("lag") instanceof Long l ? l : null;
        Long timeline = member.get("timeline") instanceof Long t ? t : null;
        String apiUrl = member.get("api_url") instanceof String a ? a : null;
        Map<?, ?> tags = member.get("tags") instanceof Map<?, ?> t ? t : Map.of();
        return new PatroniMember(name, PatroniRole.of(role), state, host, port, lag, timeline,
                isTrue(tags.get("nofailover")), isTrue(tags.get("noloadbalance")), apiUrl);
    }

    /** Patroni reads tags from YAML: a boolean, or a string such as {@code "true"}. */
    private static boolean isTrue(@Nullable Object tag) {
        return Boolean.TRUE.equals(tag) || (tag instanceof String s && s.equalsIgnoreCase("true"));
    }

    private static PatroniRestException notPatroni(String url, String why) {
        return new PatroniRestException("GET " + url + "/cluster did not answer like Patroni's REST API: " + why);
    }

}
