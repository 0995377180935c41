package dev.shadowpatch.evidence;

import java.math.BigInteger;
import java.util.regex.Pattern;

/**
 * A Debian package version, {@code [epoch:]upstream[-revision]}, ordered as dpkg orders them (Debian
 * policy 5.6.12): epochs numerically, then upstream and revision each by alternating non-digit parts
 * (letters before non-letters, {@code ~} before everything, even the end) and digit parts
 * (numerically). An absent revision equals revision {@code 0}. {@link #toString} is the text as given.
 */
public final class DebianVersion implements Comparable<DebianVersion> {
    private static final Pattern EPOCH = Pattern.compile("[0-9]+");
    private static final Pattern UPSTREAM = Pattern.compile("[A-Za-z0-9.+~:-]+");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9.+~]+");

    private final String text;
    private final BigInteger epoch;
    private final String upstream;
    private final String revision;

    private DebianVersion(String text, BigInteger epoch, String upstream, String revision) {
        this.text = text;
        this.epoch = epoch;
        this.upstream = upstream;
        this.revision = revision;
    }

    /** @throws IllegalArgumentException for text that is no Debian version (the message says why) */
    public static DebianVersion parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("an empty version");
        }
        String rest = text;
        BigInteger epoch = BigInteger.ZERO;
        int colon = rest.indexOf(':');
        if (colon >= 0) {
            String e = rest.substring(0, colon);
            if (!EPOCH.matcher(e).matches()) {
                throw new IllegalArgumentException("version '" + text + "': the epoch is not a number");
            }
            epoch = new BigInteger(e);
            rest = rest.substring(colon + 1);
        }
        String revision = "";
        int hyphen = rest.lastIndexOf('-');
        if (hyphen >= 0) {
            revision = rest.substring(hyphen + 1);
            rest = rest.substring(0, hyphen);
            if (!REVISION.matcher(revision).matches()) {
                throw new IllegalArgumentException("version '" + text + "': the revision is empty or has a character outside [A-Za-z0-9.+~]");
            }
        }
        if (!UPSTREAM.matcher(rest).matches()) {
            throw new IllegalArgumentException("version '" + text + "': the upstream version is empty or has a character outside [A-Za-z0-9.+~:-]");
        }
        return new DebianVersion(text, epoch, rest, revision);
    }

    /** The version, or null when {@code text} is none (a guest's database or changelog is not trusted to be well-formed). */
    public static DebianVersion parseOrNull(String text) {
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public int compareTo(DebianVersion other) {
        int c = epoch.compareTo(other.epoch);
        if (c != 0) {
            return c;
        }
        c = compareParts(upstream, other.upstream);
        return c != 0 ? c : compareParts(revision, other.revision);
    }

    /** dpkg's verrevcmp: returns the sign of a - b. */
    static int compareParts(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() || j < b.length()) {
            while ((i < a.length() && !digit(a.charAt(i))) || (j < b.length() && !digit(b.charAt(j)))) {
                int ac = order(a, i), bc = order(b, j);
                if (ac != bc) {
                    return Integer.signum(ac - bc);
                }
                i++;
                j++;
            }
            while (i < a.length() && a.charAt(i) == '0') i++;
            while (j < b.length() && b.charAt(j) == '0') j++;
            int firstDiff = 0;
            while (i < a.length() && digit(a.charAt(i)) && j < b.length() && digit(b.charAt(j))) {
                if (firstDiff == 0) {
                    firstDiff = a.charAt(i) - b.charAt(j);
                }
                i++;
                j++;
            }
            if (i < a.length() && digit(a.charAt(i))) return 1; // a's number has more digits
            if (j < b.length() && digit(b.charAt(j))) return -1;
            if (firstDiff != 0) return Integer.signum(firstDiff);
        }
        return 0;
    }

    /** The weight of the character at {@code i} in a non-digit part: end and digits 0, ~ below, letters, then the rest. */
    private static int order(String s, int i) {
        if (i >= s.length()) return 0;
        char c = s.charAt(i);
        if (digit(c)) return 0;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return c;
        if (c == '~') return -1;
        return c + 256;
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DebianVersion v && compareTo(v) == 0;
    }

    @Override
    public int hashCode() { // equal versions may differ in text (1.0 and 0:1.0-0): only the epoch is safe to hash
        return epoch.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
