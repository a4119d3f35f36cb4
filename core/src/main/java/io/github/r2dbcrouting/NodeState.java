package io.github.r2dbcrouting;

/** Whether a node takes traffic. */
public enum NodeState {

    /** In rotation: takes the traffic of its role. */
    UP,

    /** Out of rotation: failed probes or an acquisition, lags too far, or is in the wrong role. */
    EJECTED,

    /** Removed at run time: takes no new connections; its pool closes once the ones in use are back. */
    REMOVED
}
