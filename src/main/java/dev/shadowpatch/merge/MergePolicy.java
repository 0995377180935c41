package dev.shadowpatch.merge;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Per-path policy: an ordered list of glob rules, first match wins. Globs are matched against the
 * path with a leading '/', as the guest sees it. '*' matches within one name, '**' across names, '?'
 * one character; a rule also matches everything below a path it matches (so "/var/log" covers
 * "/var/log/syslog").
 * <pre>
 * # file format: one rule per line, "GLOB ACTION", '#' starts a comment
 * /srv/app/config.yml   take-shadow
 * /etc/**               three-way
 * </pre>
 * Actions: exclude (never scanned, never touched), and for conflicts (both sides changed the path
 * differently): three-way, keep-live, take-shadow, hybrid, ask. Rules from a file come before the
 * defaults, which always end the list:
 * {@value #DEFAULT_RULES}
 */
public final class MergePolicy {
    /** lit: the glob's text before its first wildcard; a path (or ancestor) the rule matches starts with it. */
    public record Rule(String glob, Decision action, Pattern regex, String lit) {
        static String literal(String glob) {
            int i = 0;
            while (i < glob.length() && glob.charAt(i) != '*' && glob.charAt(i) != '?') i++;
            return glob.substring(0, i);
        }

        boolean matches(String abs) {
            if (lit.isEmpty() && glob.equals("**")) return true;
            if (!abs.startsWith(lit)) return false;
            if (lit.length() == glob.length()) return abs.length() == lit.length() || abs.charAt(lit.length()) == '/';
            if (regex.matcher(abs).matches()) return true;
            for (int i = abs.lastIndexOf('/'); i > 0; i = abs.lastIndexOf('/', i - 1))
                if (regex.matcher(abs.substring(0, i)).matches()) return true;
            return false;
        }
    }

    /**
     * Database data directories belong to the live VM: the shadow's copies changed only because the
     * patch restarted the server there, and taking any file of them would mix two databases (seen in
     * ops/e2e with PostgreSQL 15). A patch that migrates data needs its own policy file.
     * Per-machine state (DHCP leases, the random seed, timer stamps) is the live VM's too: the
     * shadow's is of another network and another boot (both turned into conflicts in ops/e2e).
     * The change-capture agent's own files (ops/guest-agent) belong to the shadow only.
     */
    public static final String DEFAULT_RULES = """
            /proc exclude
            /sys exclude
            /dev exclude
            /run exclude
            /tmp exclude
            /var/tmp exclude
            /var/cache/apt exclude
            /var/log keep-live
            /var/lib/postgresql exclude
            /var/lib/mysql exclude
            /var/lib/dhcp exclude
            /var/lib/systemd/random-seed exclude
            /var/lib/systemd/timers exclude
            /var/lib/sp-change-capture exclude
            /etc/sp-change-capture exclude
            /usr/local/sbin/sp-change-capture exclude
            /etc/systemd/system/sp-change-capture.service exclude
            /etc/** three-way
            ** ask
            """;

    private final List<Rule> rules;
    /** When a change log is given, still scan the whole shadow to find what the log missed (default true). */
    private final boolean verifyChangeLog;
    /** Where the tree this policy decides for is mounted in the guest ("" for its root file system). */
    private final String mountedAt;

    private MergePolicy(List<Rule> rules, boolean verifyChangeLog) {
        this(rules, verifyChangeLog, "");
    }

    private MergePolicy(List<Rule> rules, boolean verifyChangeLog, String mountedAt) {
        this.rules = List.copyOf(rules);
        this.verifyChangeLog = verifyChangeLog;
        this.mountedAt = mountedAt;
    }

    /**
     * The same rules for a file system the guest mounts at {@code mountRel} (encoded, relative to
     * the guest's root, e.g. {@code boot}): its paths are matched as the guest sees them, so
     * {@code /var/log/**} excludes {@code log/...} of a separate {@code /var}.
     */
    public MergePolicy mountedAt(String mountRel) {
        return new MergePolicy(rules, verifyChangeLog, mountRel);
    }

    public static MergePolicy defaults() {
        return new MergePolicy(parseRules(DEFAULT_RULES, "defaults"), true);
    }

    public static MergePolicy parse(Path file) throws IOException {
        return of(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    public static MergePolicy of(String text, String source) {
        List<Rule> r = new ArrayList<>(parseRules(text, source));
        r.addAll(parseRules(DEFAULT_RULES, "defaults"));
        return new MergePolicy(r, true);
    }

    public MergePolicy withVerifyChangeLog(boolean v) {
        return new MergePolicy(rules, v, mountedAt);
    }

    public boolean verifyChangeLog() { return verifyChangeLog; }

    public List<Rule> rules() { return rules; }

    static List<Rule> parseRules(String text, String source) {
        List<Rule> out = new ArrayList<>();
        int n = 0;
        for (String line : text.split("\n")) {
            n++;
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash);
            line = line.strip();
            if (line.isEmpty()) continue;
            String[] f = line.split("\\s+");
            if (f.length != 2) throw new IllegalArgumentException(source + ":" + n + ": expected 'GLOB ACTION', got '" + line + "'");
            String glob = f[0];
            if (!glob.startsWith("/") && !glob.startsWith("**"))
                throw new IllegalArgumentException(source + ":" + n + ": glob must start with '/' or '**': " + glob);
            out.add(new Rule(glob, Decision.parse(f[1]), Pattern.compile(globToRegex(glob)), Rule.literal(glob)));
        }
        return out;
    }

    static String globToRegex(String glob) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char ch = glob.charAt(i);
            if (ch == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') { sb.append(".*"); i++; }
                else sb.append("[^/]*");
            } else if (ch == '?') sb.append("[^/]");
            else sb.append(Pattern.quote(String.valueOf(ch)));
        }
        return sb.toString();
    }

    /** The action for a relative path (encoded as in {@link RelPath}). */
    public Decision actionFor(String rel) {
        String abs = RelPath.absolute(mountedAt.isEmpty() ? rel : rel.isEmpty() ? mountedAt : mountedAt + "/" + rel);
        for (Rule r : rules) if (r.matches(abs)) return r.action;
        return Decision.ASK;
    }

    public boolean excluded(String rel) {
        return !rel.isEmpty() && actionFor(rel) == Decision.EXCLUDE;
    }
}
