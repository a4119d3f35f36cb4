package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * A server's log file ({@code postgresql.log}, {@code mariadbd.log}, {@code patroni.log}, …), read
 * to see a start finish and for the last lines that error messages quote.
 */
final class ServerLog {

    /** How many last lines an error message quotes. */
    static final int TAIL_LINES = 20;

    private final Path file;

    ServerLog(Path file) {
        this.file = file;
    }

    Path file() {
        return this.file;
    }

    /** The file's length now, 0 when there is none: where {@link #since(long)} starts later. */
    long size() {
        try {
            return Files.exists(this.file) ? Files.size(this.file) : 0;
        }
        catch (IOException ex) {
            return 0;
        }
    }

    /** What was written after {@code offset} (at most 1 MiB), empty when nothing or no file. */
    String since(long offset) {
        if (!Files.exists(this.file)) {
            return "";
        }
        try (RandomAccessFile reader = new RandomAccessFile(this.file.toFile(), "r")) {
            long length = reader.length();
            if (length <= offset) {
                return "";
            }
            byte[] bytes = new byte[(int) Math.min(length - offset, 1 << 20)];
            reader.seek(offset);
            reader.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
        catch (IOException ex) {
            return "";
        }
    }

    /**
     * Waits until what is written after {@code offset} contains {@code line}, or {@code process}
     * ends, or {@code timeout} passes.
     * @return what was written after {@code offset} by then: it contains {@code line} unless one
     * of the other two happened first
     */
    String awaitLine(long offset, String line, Process process, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 5;
        while (true) {
            String output = since(offset);
            if (output.contains(line) || !process.isAlive() || System.nanoTime() - deadline > 0) {
                return output;
            }
            PgProcess.sleep(pause);
            pause = Math.min(pause * 2, 20);
        }
    }

    /** The last {@code lines} lines of the file, or why there are none. */
    String tail(int lines) {
        try {
            return tail(Files.readString(this.file, StandardCharsets.UTF_8), lines);
        }
        catch (IOException ex) {
            return "(no log: " + ex.getMessage() + ")";
        }
    }

    /** The last {@code lines} lines of {@code text}. */
    static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", Arrays.asList(all).subList(Math.max(0, all.length - lines), all.length));
    }

    @Override
    public String toString() {
        return this.file.toString();
    }

}
