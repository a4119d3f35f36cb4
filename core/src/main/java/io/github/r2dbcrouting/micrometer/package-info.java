/**
 * Micrometer metrics for the routing factory: {@link io.github.r2dbcrouting.micrometer.MicrometerMetricsRecorder}.
 * Needs {@code io.micrometer:micrometer-core} on the class path (an optional dependency of core).
 */
@NullMarked
package io.github.r2dbcrouting.micrometer;

import org.jspecify.annotations.NullMarked;
