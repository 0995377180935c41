package dev.shadowpatch.guest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The guest's change log (inotify events, as in the paper): a hint for the merge engine of which
 * paths the patch touched. The scan of shadow vs base stays the authority.
 */
public record ChangeLog(List<Entry> entries) {

    /** One event line: when, which inotify events (e.g. {@code CLOSE_WRITE,CLOSE}), which guest path. */
    public record Entry(Instant at, String events, String path) {
    }

    /** The distinct paths, in first-seen order. */
    public Set<String> paths() {
        Set<String> out = new LinkedHashSet<>();
        entries.forEach(e -> out.add(e.path()));
        return out;
    }

    /** Parses {@code <epoch seconds> <EVENTS> <path>} lines; lines that do not fit are skipped. */
    public static ChangeLog parse(String text) {
        List<Entry> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            int a = line.indexOf(' ');
            int b = a < 0 ? -1 : line.indexOf(' ', a + 1);
            if (b < 0) {
                continue;
            }
            try {
                out.add(new Entry(Instant.ofEpochSecond(Long.parseLong(line.substring(0, a))), line.substring(a + 1, b),
                        line.substring(b + 1)));
            } catch (NumberFormatException e) {
                // a path with a newline continues on the next line: the log is a hint, skip the fragment
            }
        }
        return new ChangeLog(List.copyOf(out));
    }
}
