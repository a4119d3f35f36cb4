package io.github.r2dbcrouting.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** Starts a cluster's servers at once, each on a daemon thread of its own, and waits for all of them. */
final class Parallel {

    private Parallel() {
    }

    /** Runs every task at once and waits until all have ended; throws the last failure, once all have ended. */
    static void runAll(String threadName, List<Runnable> tasks) {
        startAll(threadName, tasks.stream().<Supplier<Runnable>>map(task -> () -> {
            task.run();
            return task;
        }).toList(), task -> { });
    }

    /**
     * Runs every task at once and waits until all have ended. Each result is handed to
     * {@code started} as soon as it is joined, so that a caller can close what started when another
     * task failed.
     *
     * @return the results, in the order of {@code tasks}
     * @throws RuntimeException the last failure, once every task has ended
     */
    static <T> List<T> startAll(String threadName, List<Supplier<T>> tasks, Consumer<? super T> started) {
        if (tasks.isEmpty()) {
            return List.of();
        }
        ExecutorService executor = Executors.newFixedThreadPool(tasks.size(), r -> {
            Thread thread = new Thread(r, threadName);
            thread.setDaemon(true);
            return thread;
        });
        try {
            List<CompletableFuture<T>> futures = new ArrayList<>();
            for (Supplier<T> task : tasks) {
                futures.add(CompletableFuture.supplyAsync(task, executor));
            }
            List<T> results = new ArrayList<>();
            RuntimeException failure = null;
            for (CompletableFuture<T> future : futures) {
                try {
                    T result = future.join();
                    started.accept(result);
                    results.add(result);
                }
                catch (CompletionException ex) {
                    failure = ex.getCause() instanceof RuntimeException rex ? rex : ex;
                }
            }
            if (failure != null) {
                throw failure;
            }
            return results;
        }
        finally {
            executor.shutdownNow();
        }
    }

}
