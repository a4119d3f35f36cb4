package io.github.r2dbcrouting.benchmarks;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** The soak's view of this JVM before and after: live threads by kind, and used heap after a full GC. */
final class JvmCensus {

    private JvmCensus() {
    }

    /**
     * The JDK's threads that wait for child processes: one per running child, idle ones kept 60 s.
     * The children are the testkit's (each {@code mariadbd}, and a {@code mariadb} client per admin
     * statement, some of which the checks themselves run), never the library's.
     */
    static final String PROCESS_REAPER = "process reaper";

    /**
     * Live threads by name with digits folded ({@code reactor-tcp-nio-#}), so that pools compare by
     * kind; the JDK's {@link #PROCESS_REAPER}s left out.
     */
    static Map<String, Integer> threadGroups() {
        Map<String, Integer> groups = new TreeMap<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive() && !thread.getName().equals(PROCESS_REAPER)) {
                groups.merge(thread.getName().replaceAll("[0-9]+", "#"), 1, Integer::sum);
            }
        }
        return groups;
    }

    /** Groups with more threads now than before, and by how many. */
    static Map<String, Integer> newThreads(Map<String, Integer> before, Map<String, Integer> after) {
        Map<String, Integer> grown = new TreeMap<>();
        after.forEach((group, n) -> {
            int extra = n - before.getOrDefault(group, 0);
            if (extra > 0) {
                grown.put(group, extra);
            }
        });
        return grown;
    }

    static int count(Map<String, Integer> groups) {
        return groups.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Used heap after a full GC: the least of a few tries, since one GC may leave floating garbage. */
    static long heapAfterGc() throws InterruptedException {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            TimeUnit.MILLISECONDS.sleep(100);
            least = Math.min(least, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    static String mb(long bytes) {
        return ScenarioRunner.fmt(bytes / (1024.0 * 1024.0));
    }

}
