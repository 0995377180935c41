package dev.shadowpatch.evidence;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the patch did to the shadow's packages, as the approver and the auditor read it: every
 * changed package with the security ids it brings, or "unknown" with the reason (a failure to read
 * the packages never fails the patch; the approval says so instead).
 *
 * @param note what else the approver should know of the reading (lines that were no package), or null
 */
public record PackageReport(State state, String reason, List<PackageChange> packages, String note) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Ids shown per row of the form; the whole list is in the JSON. */
    static final int IDS_PER_ROW = 12;
    /** Packages named in the headline's list of unread changelogs; the rows say every one. */
    static final int NAMES_IN_HEADLINE = 5;

    public PackageReport {
        packages = packages == null ? List.of() : List.copyOf(packages);
    }

    public enum State {
        KNOWN("known"), UNKNOWN("unknown");

        private final String word;

        State(String word) { this.word = word; }

        @JsonValue
        public String word() { return word; }

        @JsonCreator
        public static State parse(String w) {
            for (State s : values()) if (s.word.equals(w) || s.name().equals(w)) return s;
            throw new IllegalArgumentException("unknown package report state '" + w + "'");
        }

        @Override
        public String toString() { return word; }
    }

    public static PackageReport known(List<PackageChange> packages, int malformedLines) {
        return new PackageReport(State.KNOWN, null, packages, malformedLines == 0 ? null
                : malformedLines + " line(s) of dpkg-query's output in the shadow were no package and are left out");
    }

    public static PackageReport unknown(String reason) {
        return new PackageReport(State.UNKNOWN, reason, List.of(), null);
    }

    /**
     * The first line of the summary: how many packages changed how, how many ids of each kind, and
     * how many upgrades had no changelog to read (their ids are unknown: never said to be none).
     */
    public String headline() {
        if (state == State.UNKNOWN) {
            return "Packages unknown: " + reason;
        }
        if (packages.isEmpty()) {
            return "No package changed.";
        }
        Map<String, Integer> kinds = new TreeMap<>();
        packages.forEach(p -> kinds.merge(p.kind().word(), 1, Integer::sum));
        StringBuilder line = new StringBuilder().append(packages.size()).append(" package(s) changed (");
        kinds.forEach((k, n) -> line.append(n).append(' ').append(k).append(", "));
        line.setLength(line.length() - 2);
        line.append(")");
        securityPart().ifPresent(part -> line.append("; ").append(part));
        List<String> unread = packages.stream().filter(PackageChange::changelogUnread).map(PackageChange::name).toList();
        if (!unread.isEmpty()) {
            line.append("; no changelog readable for ").append(unread.size()).append(" of ").append(upgrades())
                    .append(" upgrade(s), so their CVE, DSA and DLA ids are unknown: ").append(names(unread));
        }
        long unfinished = packages.stream().filter(p -> p.unfinished() != null).count();
        if (unfinished > 0) {
            line.append("; ").append(unfinished).append(" left not fully installed");
        }
        return line.append('.').toString();
    }

    /** The ids fixed, or that the changelogs read name none; nothing when no changelog was read. */
    private Optional<String> securityPart() {
        Map<String, Integer> ids = new TreeMap<>();
        packages.stream().flatMap(p -> p.securityIds().stream()).distinct()
                .forEach(id -> ids.merge(id.substring(0, 3), 1, Integer::sum));
        if (!ids.isEmpty()) {
            StringBuilder part = new StringBuilder();
            ids.forEach((k, n) -> part.append(n).append(' ').append(k).append(", "));
            part.setLength(part.length() - 2);
            return Optional.of(part.append(" fixed").toString());
        }
        if (upgrades() == 0) return Optional.of("no upgrade, so no changelog to read");
        // a report stored before sources were recorded has none: counted neither read nor unread
        long read = packages.stream().filter(p -> p.changelogSource() != null && p.changelogSource().read()).count();
        return read == 0 ? Optional.empty() : Optional.of("no CVE, DSA or DLA id in the " + read + " changelog(s) read");
    }

    private long upgrades() {
        return packages.stream().filter(PackageChange::newerThanBefore).count();
    }

    /** The first names, then how many more: a headline stays one line. */
    private static String names(List<String> names) {
        int shown = Math.min(names.size(), NAMES_IN_HEADLINE);
        String list = String.join(", ", names.subList(0, shown));
        return names.size() > shown ? list + " and " + (names.size() - shown) + " more" : list;
    }

    /** The headline and one line per package, for Cockpit and the audit (the caller bounds its length). */
    public String summary() {
        StringBuilder text = new StringBuilder(headline()).append('\n');
        if (note != null) text.append(note).append('\n');
        for (PackageChange p : packages) {
            text.append("  ").append(p.name()).append(' ').append(p.versions()).append(" (").append(p.kind().word());
            if (p.unfinished() != null) text.append(", ").append(p.unfinished());
            if (p.changelogUnread()) text.append(", no changelog readable");
            text.append(')');
            if (!p.securityIds().isEmpty()) text.append(": ").append(String.join(", ", p.securityIds()));
            text.append('\n');
        }
        return text.toString();
    }

    /**
     * The rows of the approval form's table as JSON, at most {@code maxChars} long: rows in name
     * order while they fit, then how many more there are (the whole list is the JSON file).
     */
    public String formRows(int maxChars) {
        ObjectNode root = JSON.createObjectNode();
        root.put("state", state.word());
        root.put("headline", headline());
        if (note != null) root.put("note", note);
        ArrayNode rows = root.putArray("rows");
        int more = 0;
        for (PackageChange p : packages) {
            ObjectNode row = JSON.createObjectNode();
            row.put("package", p.name());
            row.put("architecture", p.architecture());
            row.put("versions", p.versions());
            row.put("change", p.unfinished() == null ? p.kind().word() : p.kind().word() + ", " + p.unfinished());
            List<String> ids = p.securityIds();
            row.put("ids", String.join(", ", ids.subList(0, Math.min(ids.size(), IDS_PER_ROW)))
                    + (ids.size() > IDS_PER_ROW ? " and " + (ids.size() - IDS_PER_ROW) + " more" : ""));
            row.put("changelog", p.changelog());
            if (p.changelogSource() != null) row.put("changelogSource", p.changelogSource().word());
            if (more == 0 && root.toString().length() + row.toString().length() + 40 <= maxChars) {
                rows.add(row);
            } else {
                more++;
            }
        }
        root.put("more", more);
        return root.toString();
    }

    public byte[] toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static PackageReport fromJson(byte[] json) {
        try {
            return JSON.readValue(json, PackageReport.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a package report: " + e.getMessage(), e);
        }
    }
}
