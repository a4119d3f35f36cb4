package io.github.r2dbcrouting.topology;

import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.HttpHeaderNames;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Reads a Patroni cluster through its members' REST APIs ({@code GET /cluster}), non-blocking.
 * Each read asks the member that answered last, then the others in the configured order, each
 * bounded by the timeout; it fails only when none gives a Patroni answer, naming every URL and why.
 *
 * <p>HTTP goes through Reactor Netty's {@link HttpClient} (an optional dependency of core, needed
 * only by the Patroni source): no blocked thread, on the event loops the PostgreSQL driver already
 * runs. Credentials in a URL ({@code http://user:secret@host:8008}) are sent
 * as HTTP Basic authentication and never appear in a message or log line.
 */
final class PatroniRestClient {

    private static final Logger LOG = Loggers.getLogger(PatroniRestClient.class);

    private static final Pattern USERINFO = Pattern.compile("//[^/@]*@");

    /** One member's REST API: where to send, what to print, and the Basic credentials if any. */
    private record Target(URI clusterUri, String display, @Nullable String authorization) {
    }

    private final List<Target> targets;

    private final Duration timeout;

    private final HttpClient http;

    /** Index of the target that answered last: the next read asks it first. */
    private final AtomicInteger preferred = new AtomicInteger();

    /**
     * @param urls    each member's REST base URL ({@code http://host:8008}, {@code https://…}), at least one
     * @param timeout bound of one request (connect included); a read may take one per URL
     * @throws IllegalArgumentException naming the setting and the URL (without credentials) when one is unusable
     */
    PatroniRestClient(List<String> urls, Duration timeout) {
        Objects.requireNonNull(urls, "patroni");
        Objects.requireNonNull(timeout, "patroni.timeout");
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("patroni must name at least one Patroni REST URL, was empty");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("patroni.timeout must be positive, was " + timeout);
        }
        List<Target> parsed = new ArrayList<>(urls.size());
        for (String url : urls) {
            Target target = target(url);
            if (parsed.stream().anyMatch(t -> t.clusterUri().equals(target.clusterUri()))) {
                throw new IllegalArgumentException("patroni names " + target.display() + " twice");
            }
            parsed.add(target);
        }
        this.targets = List.copyOf(parsed);
        this.timeout = timeout;
        this.http = HttpClient.create()
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis())))
            .responseTimeout(timeout)
            .followRedirect(false)
            .headers(headers -> headers.set(HttpHeaderNames.ACCEPT, "application/json"));
    }

    private static Target target(@Nullable String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("patroni must not contain a blank URL, was '" + url + "'");
        }
        String display = redact(url.trim());
        URI uri;
        try {
            uri = new URI(url.trim());
        }
        catch (URISyntaxException ex) {
            // not chained: the parser's message quotes the raw URL, credentials included
            throw new IllegalArgumentException("patroni: '" + display + "' is not a URL: " + ex.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("patroni: '" + display
                    + "' is not an http:// or https:// URL of a Patroni REST API (e.g. http://pg-0:8008)");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("patroni: '" + display + "' has no host");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("patroni: '" + display
                    + "' must be the REST API's base URL, without query or fragment");
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "");
        String base = scheme + "://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "") + path;
        String authorization = uri.getRawUserInfo() == null ? null
                : "Basic " + Base64.getEncoder()
                    .encodeToString(decode(uri.getRawUserInfo()).getBytes(StandardCharsets.UTF_8));
        return new Target(URI.create(base + "/cluster"), base, authorization);
    }

    private static String decode(String rawUserInfo) {
        return URLDecoder.decode(rawUserInfo.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** {@code url} with any {@code user:password@} replaced by {@code ***@}, for messages. */
    static String redact(String url) {
        return USERINFO.matcher(url).replaceFirst("//***@");
    }

    /** The configured URLs, without credentials. */
    List<String> urls() {
        return targets.stream().map(Target::display).toList();
    }

    /**
     * Reads the cluster: the member that answered last first, then the others in order.
     * @return a Mono that fails with {@link PatroniRestException} naming every URL tried and why
     * when none answers like Patroni within the timeout
     */
    Mono<PatroniClusterState> readCluster() {
        return Mono.defer(() -> {
            int start = preferred.get();
            int count = targets.size();
            List<String> failures = new ArrayList<>(count);
            return Flux.range(0, count)
                .concatMap(i -> {
                    int index = (start + i) % count;
                    Target target = targets.get(index);
                    return read(target)
                        .doOnNext(state -> preferred.set(index))
                        .onErrorResume(ex -> {
                            failures.add(describe(ex));
                            if (LOG.isDebugEnabled()) {
                                LOG.debug("Patroni REST: {}", describe(ex));
                            }
                            return Mono.empty();
                        });
                }, 0)
                .next()
                .switchIfEmpty(Mono.error(() -> new PatroniRestException("no Patroni REST API answered GET /cluster: "
                        + String.join("; ", failures))));
        }).name("r2dbc-routing.patroni.readCluster");
    }

    private Mono<PatroniClusterState> read(Target target) {
        String authorization = target.authorization();
        HttpClient client = authorization == null ? http
            : http.headers(headers -> headers.set(HttpHeaderNames.AUTHORIZATION, authorization));
        return client.get()
            .uri(target.clusterUri())
            .responseSingle((response, body) -> body.asString(StandardCharsets.UTF_8).defaultIfEmpty("")
                .map(text -> {
                    int status = response.status().code();
                    if (status != 200) {
                        throw new PatroniRestException("GET " + target.display() + "/cluster answered HTTP " + status
                                + ", not Patroni's 200 with the cluster");
                    }
                    return PatroniClusterParser.parse(text, target.display());
                }))
            .timeout(timeout)
            .onErrorMap(ex -> !(ex instanceof PatroniRestException), ex -> failure(target, ex));
    }

    private PatroniRestException failure(Target target, Throwable ex) {
        Throwable cause = ex;
        String why;
        if (cause instanceof TimeoutException || cause instanceof io.netty.handler.timeout.ReadTimeoutException
                || cause instanceof io.netty.channel.ConnectTimeoutException) {
            why = "no answer within " + timeout;
        }
        else if (cause instanceof ConnectException) {
            why = "connection refused or unreachable";
        }
        else {
            why = cause.getClass().getSimpleName() + (cause.getMessage() != null ? ": " + redact(cause.getMessage()) : "");
        }
        return new PatroniRestException("GET " + target.display() + "/cluster failed: " + why, cause);
    }

    private static String describe(Throwable ex) {
        return ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
    }

    @Override
    public String toString() {
        return "PatroniRestClient" + urls();
    }

}
