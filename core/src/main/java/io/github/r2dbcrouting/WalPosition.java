package io.github.r2dbcrouting;

import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * A PostgreSQL WAL position in bytes ({@code pg_lsn - '0/0'}). Its token is {@code v1.<hex>},
 * the form tokens had before MariaDB sessions existed, so that tokens issued then stay valid.
 *
 * @param bytes the position, {@code > 0}
 */
record WalPosition(long bytes) implements Position {

    static final String TOKEN_PREFIX = "v1.";

    /** The position {@code lsn} ({@code -1} when unknown, 0 for none): {@code null} when there is none. */
    static @Nullable WalPosition of(long lsn) {
        return lsn > 0 ? new WalPosition(lsn) : null;
    }

    @Override
    public String family() {
        return PostgresDialect.FAMILY;
    }

    @Override
    public boolean covers(Position needed) {
        if (!(needed instanceof WalPosition wal)) {
            throw Position.foreign(this, needed);
        }
        return this.bytes >= wal.bytes;
    }

    @Override
    public Position merge(Position other) {
        if (!(other instanceof WalPosition wal)) {
            throw Position.foreign(this, other);
        }
        return wal.bytes > this.bytes ? wal : this;
    }

    @Override
    public long rank() {
        return this.bytes;
    }

    @Override
    public String token() {
        return TOKEN_PREFIX + Long.toHexString(this.bytes).toUpperCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return token();
    }
}
