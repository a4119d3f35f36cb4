package io.github.r2dbcrouting;

import java.util.Arrays;
import java.util.Locale;

/**
 * A MariaDB GTID list: per replication domain, the last GTID ({@code domain-server-sequence}).
 * Within a domain sequence numbers only grow, also across a change of primary (a new primary
 * continues the domain's numbering), so a replica has applied a position when, for every domain
 * of it, the replica's sequence number in that domain is at least as high; the server id is kept
 * only to write the list back ({@code MASTER_GTID_WAIT} and tokens). A domain the replica has
 * never applied anything of is not covered.
 *
 * <p>Immutable; domains sorted, at most {@link #MAX_DOMAINS}.
 */
final class GtidPosition implements Position {

    /** A session token's prefix: the family and the format's version. */
    static final String TOKEN_PREFIX = "mdb1.";

    /** More domains than any real topology uses; bounds what a token can make us parse and compare. */
    static final int MAX_DOMAINS = 64;

    /** A server that has applied nothing ({@code @@gtid_slave_pos} empty). */
    static final GtidPosition EMPTY = new GtidPosition(new long[0], new long[0], new long[0]);

    private static final long UINT32 = 0xFFFF_FFFFL;

    private final long[] domains;

    private final long[] servers;

    private final long[] sequences;

    private GtidPosition(long[] domains, long[] servers, long[] sequences) {
        this.domains = domains;
        this.servers = servers;
        this.sequences = sequences;
    }

    /**
     * The list as the server writes it ({@code @@gtid_binlog_pos}, {@code @@gtid_slave_pos}):
     * {@code 0-1-100,1-2-7}; empty text is {@link #EMPTY}.
     *
     * @throws IllegalArgumentException when it is not such a list
     */
    static GtidPosition parse(String list) {
        String text = list.strip();
        return text.isEmpty() ? EMPTY : parse(text, ",", text);
    }

    /**
     * The position in a session token ({@link #token()}).
     *
     * @throws IllegalArgumentException when it is not such a token
     */
    static GtidPosition fromToken(String token) {
        if (!token.startsWith(TOKEN_PREFIX) || token.length() == TOKEN_PREFIX.length()) {
            throw new IllegalArgumentException("not a MariaDB token: " + token);
        }
        return parse(token.substring(TOKEN_PREFIX.length()), "\\.", token);
    }

    private static GtidPosition parse(String text, String separator, String whole) {
        String[] parts = text.split(separator, -1);
        if (parts.length > MAX_DOMAINS) {
            throw new IllegalArgumentException("more than " + MAX_DOMAINS + " GTID domains in '" + whole + "'");
        }
        long[][] entries = new long[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            String[] fields = parts[i].strip().split("-", -1);
            if (fields.length != 3) {
                throw new IllegalArgumentException("'" + parts[i] + "' is not a GTID (domain-server-sequence)");
            }
            try {
                long domain = Long.parseLong(fields[0]);
                long server = Long.parseLong(fields[1]);
                long sequence = Long.parseUnsignedLong(fields[2]);
                if (domain < 0 || domain > UINT32 || server < 0 || server > UINT32 || sequence < 0) {
                    throw new NumberFormatException("out of range");
                }
                entries[i] = new long[] {domain, server, sequence};
            } catch (NumberFormatException error) {
                throw new IllegalArgumentException("'" + parts[i] + "' is not a GTID (domain-server-sequence)", error);
            }
        }
        Arrays.sort(entries, (a, b) -> Long.compare(a[0], b[0]));
        long[] domains = new long[entries.length];
        long[] servers = new long[entries.length];
        long[] sequences = new long[entries.length];
        for (int i = 0; i < entries.length; i++) {
            if (i > 0 && entries[i][0] == entries[i - 1][0]) {
                throw new IllegalArgumentException("GTID domain " + entries[i][0] + " appears twice in '" + whole + "'");
            }
            domains[i] = entries[i][0];
            servers[i] = entries[i][1];
            sequences[i] = entries[i][2];
        }
        return new GtidPosition(domains, servers, sequences);
    }

    boolean isEmpty() {
        return this.domains.length == 0;
    }

    @Override
    public String family() {
        return MariaDbDialect.PRODUCT;
    }

    @Override
    public boolean covers(Position needed) {
        if (!(needed instanceof GtidPosition other)) {
            throw Position.foreign(this, needed);
        }
        int mine = 0;
        for (int i = 0; i < other.domains.length; i++) {
            long domain = other.domains[i];
            while (mine < this.domains.length && this.domains[mine] < domain) {
                mine++;
            }
            if (mine == this.domains.length || this.domains[mine] != domain
                || Long.compareUnsigned(this.sequences[mine], other.sequences[i]) < 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public Position merge(Position other) {
        if (!(other instanceof GtidPosition gtid)) {
            throw Position.foreign(this, other);
        }
        if (this.covers(gtid)) {
            return this;
        }
        if (gtid.covers(this)) {
            return gtid;
        }
        int size = this.domains.length + gtid.domains.length;
        long[] domains = new long[size];
        long[] servers = new long[size];
        long[] sequences = new long[size];
        int a = 0;
        int b = 0;
        int n = 0;
        while (a < this.domains.length || b < gtid.domains.length) {
            boolean takeA = b == gtid.domains.length || a < this.domains.length && this.domains[a] < gtid.domains[b];
            boolean takeB = a == this.domains.length || b < gtid.domains.length && gtid.domains[b] < this.domains[a];
            if (takeA) {
                domains[n] = this.domains[a];
                servers[n] = this.servers[a];
                sequences[n++] = this.sequences[a++];
            } else if (takeB) {
                domains[n] = gtid.domains[b];
                servers[n] = gtid.servers[b];
                sequences[n++] = gtid.sequences[b++];
            } else {
                boolean mineHigher = Long.compareUnsigned(this.sequences[a], gtid.sequences[b]) >= 0;
                domains[n] = this.domains[a];
                servers[n] = mineHigher ? this.servers[a] : gtid.servers[b];
                sequences[n++] = mineHigher ? this.sequences[a] : gtid.sequences[b];
                a++;
                b++;
            }
        }
        if (n > MAX_DOMAINS) {
            throw new IllegalArgumentException("a session's writes span more than " + MAX_DOMAINS + " GTID domains");
        }
        return new GtidPosition(Arrays.copyOf(domains, n), Arrays.copyOf(servers, n), Arrays.copyOf(sequences, n));
    }

    /** The sum of the sequence numbers (saturating): a rough distance, to pick the closest replica. */
    @Override
    public long rank() {
        long sum = 0;
        for (long sequence : this.sequences) {
            sum = sequence < 0 || sum + sequence < 0 ? Long.MAX_VALUE : sum + sequence;
        }
        return sum;
    }

    /** The list as MariaDB writes it, for {@code MASTER_GTID_WAIT}: {@code 0-1-100,1-2-7}. */
    String serverText() {
        return join(",");
    }

    @Override
    public String token() {
        return TOKEN_PREFIX + join(".");
    }

    private String join(String separator) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < this.domains.length; i++) {
            if (i > 0) {
                text.append(separator);
            }
            text.append(this.domains[i]).append('-').append(this.servers[i]).append('-').append(Long.toUnsignedString(this.sequences[i]));
        }
        return text.toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof GtidPosition gtid && Arrays.equals(this.domains, gtid.domains) && Arrays.equals(this.servers, gtid.servers)
            && Arrays.equals(this.sequences, gtid.sequences);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(this.domains) + Arrays.hashCode(this.sequences);
    }

    @Override
    public String toString() {
        return isEmpty() ? "(no GTID)" : serverText().toLowerCase(Locale.ROOT);
    }
}
