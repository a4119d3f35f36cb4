package io.github.r2dbcrouting.example;

import java.time.Duration;

import io.github.r2dbcrouting.ConsistencySession;
import io.github.r2dbcrouting.Routing;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Read-your-writes across requests: the client sends back the {@value #HEADER} header it got
 * from its last response, so a read in the next request never sees data older than that
 * client's own writes, even when the replicas lag.
 */
@Component
class ConsistencyFilter implements WebFilter {

    static final String HEADER = "X-Consistency";

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        ConsistencySession session;
        try {
            session = ConsistencySession.fromToken(exchange.getRequest().getHeaders().getFirst(HEADER));
        } catch (IllegalArgumentException error) {
            return Mono.error(new ResponseStatusException(HttpStatus.BAD_REQUEST, HEADER + ": " + error.getMessage()));
        }
        exchange.getResponse().beforeCommit(() -> session.settled()
            .timeout(Duration.ofSeconds(5))
            .onErrorResume(error -> Mono.empty())
            .then(Mono.fromRunnable(() -> exchange.getResponse().getHeaders().set(HEADER, session.toToken()))));
        return chain.filter(exchange).contextWrite(Routing.session(session));
    }
}
