package dev.shadowpatch.evidence;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CVE, DSA and DLA ids an upgrade brings, read from the top of the new version's Debian changelog
 * (newest entry first) down to the first entry at or below the old version. A pure function of the
 * text: no feed, no network.
 *
 * <p>Positional, not only by version: an entry above the installed version counts too. A stable
 * update that rebuilds an unstable upload ({@code 590-2.1~deb12u1} rebuilds {@code 590-2.1}, which
 * sorts above it) carries that upload's entry, and that entry names the fixes; a filter "at most the
 * installed version" would drop them.
 */
public final class ChangelogSecurity {
    /** {@code package (version) distribution(s); urgency=...}, from the first column (Debian policy 4.4). */
    private static final Pattern HEADER = Pattern.compile("^[a-z0-9][a-z0-9+.-]+ \\(([^ ()]+)\\) [^;]*;.*$");
    private static final Pattern ID = Pattern.compile(
            "\\b(CVE-\\d{4}-\\d{4,}|DSA-\\d+(?:-\\d+)?|DLA-\\d+(?:-\\d+)?)\\b", Pattern.CASE_INSENSITIVE);
    private static final List<String> KINDS = List.of("CVE", "DSA", "DLA");
    /** CVE ids before DSA before DLA, each by its numbers (CVE-2024-9143 before CVE-2024-13176). */
    public static final Comparator<String> ID_ORDER = Comparator.<String>comparingInt(id -> KINDS.indexOf(id.substring(0, 3)))
            .thenComparing(ChangelogSecurity::numbers, ChangelogSecurity::compareNumbers);

    private ChangelogSecurity() {}

    /**
     * @param ids           sorted, each once
     * @param entries       how many entries counted
     * @param reachedOld    whether an entry at or below the old version was found (else the range may be incomplete)
     * @param aboveInstalled versions of counted entries above the installed version (a rebuild's upload)
     */
    public record Finding(List<String> ids, int entries, boolean reachedOld, List<String> aboveInstalled, String lastRead) {
        /** How the ids were found, in words for the approver. */
        public String describe(String oldVersion) {
            if (entries == 0 && lastRead == null) {
                return "no changelog entries";
            }
            String how = (entries == 0 ? "no changelog entry" : entries == 1 ? "1 changelog entry" : entries + " changelog entries")
                    + " after " + oldVersion;
            if (!aboveInstalled.isEmpty()) {
                how += " (with " + String.join(", ", aboveInstalled) + ", the upload this version rebuilds)";
            }
            if (!reachedOld) {
                how += "; the changelog read does not reach " + oldVersion + " (it ends at "
                        + (lastRead == null ? "no entry" : lastRead) + "): ids of older entries may be missing";
            }
            return how;
        }
    }

    /** The ids of the entries newer than {@code old} in {@code changelog}, the top of the changelog of version {@code installed}. */
    public static Finding between(String changelog, DebianVersion old, DebianVersion installed) {
        TreeSet<String> ids = new TreeSet<>(ID_ORDER);
        List<String> above = new ArrayList<>();
        int counted = 0;
        boolean inRange = false, reachedOld = false;
        String lastRead = null;
        List<String> body = new ArrayList<>();
        for (String line : changelog.split("\n", -1)) {
            Matcher header = HEADER.matcher(line);
            if (header.matches()) {
                if (inRange) ids.addAll(ids(String.join("\n", body)));
                body.clear();
                DebianVersion version = DebianVersion.parseOrNull(header.group(1));
                if (version == null) { // an entry of no version belongs to no range: skipped
                    inRange = false;
                    continue;
                }
                lastRead = header.group(1);
                if (version.compareTo(old) <= 0) {
                    reachedOld = true;
                    break;
                }
                inRange = true;
                counted++;
                if (version.compareTo(installed) > 0) above.add(header.group(1));
                continue;
            }
            body.add(line);
        }
        if (inRange && !reachedOld) { // the text may have been cut: its last line may hold half an id
            while (!body.isEmpty() && body.get(body.size() - 1).isBlank()) body.remove(body.size() - 1);
            if (!body.isEmpty()) body.remove(body.size() - 1);
        }
        if (inRange) ids.addAll(ids(String.join("\n", body)));
        return new Finding(List.copyOf(ids), counted, reachedOld, List.copyOf(above), lastRead);
    }

    /** Every id in the text, upper case, sorted, each once. */
    public static List<String> ids(String text) {
        TreeSet<String> ids = new TreeSet<>(ID_ORDER);
        Matcher m = ID.matcher(text);
        while (m.find()) {
            ids.add(m.group(1).toUpperCase(Locale.ROOT));
        }
        return List.copyOf(ids);
    }

    private static List<BigInteger> numbers(String id) {
        List<BigInteger> numbers = new ArrayList<>();
        for (String part : id.substring(4).split("-")) numbers.add(new BigInteger(part));
        return numbers;
    }

    private static int compareNumbers(List<BigInteger> a, List<BigInteger> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = a.get(i).compareTo(b.get(i));
            if (c != 0) return c;
        }
        return Integer.compare(a.size(), b.size());
    }
}
