package dev.shadowpatch.workflow;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.merge.ConflictKind;
import dev.shadowpatch.merge.DetectInfo;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.Rule;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A VM's merge plan by directory, for the approver and the audit: operations per rule and bytes to
 * copy per directory of the guest, cut to two levels (/usr/lib, /etc/apt, /var/lib), and every path
 * the plan leaves out or that the change log missed, with why. Bounded: at most
 * {@value #MAX_DIRECTORIES} directories and {@value #MAX_LISTED} paths per reason are listed; the
 * counts are always whole.
 *
 * @param skippedCounts paths per reason (all of them, listed or not), by the reason's words
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PlanByDirectory(long operations, long bytesToCopy, List<Directory> directories, int moreDirectories,
                              Map<String, Long> skippedCounts, List<Skipped> skipped) {
    static final int MAX_DIRECTORIES = 200;
    static final int MAX_LISTED = 50;
    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public PlanByDirectory {
        directories = List.copyOf(directories);
        skippedCounts = new TreeMap<>(skippedCounts);
        skipped = List.copyOf(skipped);
    }

    /** @param rules operations per rule, by the rules' words */
    public record Directory(String directory, long operations, long bytes, Map<String, Long> rules) {
        public Directory {
            rules = new TreeMap<>(rules);
        }
    }

    public record Skipped(Reason reason, String path, String detail) {}

    /** Why a path is listed. Identity is the constant; the word is what the form and the audit read. */
    public enum Reason {
        /** a subtree the detect stage could not compare: nothing in it merged (a conflict an operator settles) */
        NOT_SCANNED("not scanned: nothing in it merged"),
        /** the path's policy excludes it */
        EXCLUDED("excluded by the merge policy"),
        /** the shadow's change is not taken because the live VM keeps its parent or entries below it */
        NOT_TAKEN("shadow's change not taken: the live VM keeps it"),
        /** found by the scan though the guest's change log did not name it (merged all the same) */
        LOG_MISSED("missed by the change log, found by the scan (merged)"),
        /** a change-log line refused (the scan decided) */
        LOG_LINE_REFUSED("change-log line refused");

        private final String word;

        Reason(String word) { this.word = word; }

        @JsonValue
        public String word() { return word; }

        @JsonCreator
        public static Reason parse(String w) {
            for (Reason r : values()) if (r.word.equals(w) || r.name().equals(w)) return r;
            throw new IllegalArgumentException("unknown reason '" + w + "'");
        }
    }

    public static PlanByDirectory of(FileSystemPlans plans) {
        Map<String, long[]> totals = new TreeMap<>(); // directory -> operations, bytes
        Map<String, Map<String, Long>> rules = new TreeMap<>();
        Map<Reason, List<Skipped>> listed = new EnumMap<>(Reason.class);
        Map<Reason, Long> counts = new EnumMap<>(Reason.class);
        long operations = 0, bytes = 0;
        for (var part : plans.byMountPoint().entrySet()) {
            String mp = part.getKey();
            MergePlan plan = part.getValue();
            for (Op o : plan.ops()) {
                String path = GuestLayout.absolute(mp, o.path());
                String dir = topDirectory(path);
                long[] t = totals.computeIfAbsent(dir, k -> new long[2]);
                t[0]++;
                t[1] += o.bytes();
                operations++;
                bytes += o.bytes();
                rules.computeIfAbsent(dir, k -> new TreeMap<>()).merge(o.rule().word(), 1L, Long::sum);
                Reason why = o.conflict() == ConflictKind.NOT_SCANNED ? Reason.NOT_SCANNED
                        : o.rule() == Rule.EXCLUDED ? Reason.EXCLUDED
                        : o.rule() == Rule.KEPT_FOR_LIVE_ENTRIES || o.rule() == Rule.UNDER_KEPT_LIVE ? Reason.NOT_TAKEN : null;
                if (why != null) list(listed, counts, new Skipped(why, path, o.note() != null ? o.note() : o.rule().word()));
            }
            DetectInfo detect = plan.detect();
            if (detect != null) {
                detect.logMissed().forEach(p -> list(listed, counts, new Skipped(Reason.LOG_MISSED, GuestLayout.absolute(mp, p), null)));
                detect.logMalformed().forEach(line -> list(listed, counts, new Skipped(Reason.LOG_LINE_REFUSED, null, line)));
            }
        }
        List<Directory> directories = new ArrayList<>();
        totals.forEach((dir, t) -> directories.add(new Directory(dir, t[0], t[1], rules.get(dir))));
        int more = Math.max(0, directories.size() - MAX_DIRECTORIES);
        Map<String, Long> countWords = new TreeMap<>();
        counts.forEach((r, n) -> countWords.put(r.word(), n));
        return new PlanByDirectory(operations, bytes, directories.subList(0, directories.size() - more), more, countWords,
                listed.values().stream().flatMap(List::stream).toList());
    }

    private static void list(Map<Reason, List<Skipped>> listed, Map<Reason, Long> counts, Skipped s) {
        counts.merge(s.reason(), 1L, Long::sum);
        List<Skipped> l = listed.computeIfAbsent(s.reason(), k -> new ArrayList<>());
        if (l.size() < MAX_LISTED) l.add(s);
    }

    /** The guest directory a path is counted under: the directory it is in, cut to two levels (/etc/hosts: /etc; /usr/lib/x/y.so: /usr/lib). */
    static String topDirectory(String guestPath) {
        String[] parts = guestPath.substring(1).split("/");
        int keep = Math.min(2, parts.length - 1);
        return keep == 0 ? "/" : "/" + String.join("/", java.util.Arrays.copyOf(parts, keep));
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static PlanByDirectory fromJson(byte[] json) {
        try {
            return JSON.readValue(json, PlanByDirectory.class);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("not a plan by directory: " + e.getMessage(), e);
        }
    }
}
