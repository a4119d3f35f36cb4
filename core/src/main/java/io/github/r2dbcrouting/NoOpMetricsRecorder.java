package io.github.r2dbcrouting;

import java.time.Duration;

/** Records nothing. */
final class NoOpMetricsRecorder implements RoutingMetricsRecorder {

    static final NoOpMetricsRecorder INSTANCE = new NoOpMetricsRecorder();

    private NoOpMetricsRecorder() {
    }

    @Override
    public void recordRouted(String node, boolean readOnly) {
    }

    @Override
    public void recordFallback(Fallback fallback) {
    }

    @Override
    public void recordProbe(String node, Duration latency, boolean success) {
    }

    @Override
    public void recordEvent(RoutingEvent event) {
    }

    @Override
    public String toString() {
        return "noop";
    }
}
