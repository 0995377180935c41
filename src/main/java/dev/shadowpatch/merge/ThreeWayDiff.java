package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A conflict's text shown to the operator: what the live VM changed (base -> live) and what the
 * patch changed (base -> shadow), as unified diffs (GNU diff, the same line model as diff3's merge).
 * Bounded so that the approval form stays readable and the run's variables small: each diff at most
 * {@value #MAX_LINES} lines and {@value #MAX_BYTES} bytes (the two: 200 lines, 16 KiB per file).
 * When no diff is shown, {@code note} says why (binary, too large, not files, over the total budget).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ThreeWayDiff(String live, String shadow, String note) {
    static final int MAX_LINES = 100;
    static final int MAX_BYTES = 8 << 10;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    static ThreeWayDiff none(String why) {
        return new ThreeWayDiff(null, null, why);
    }

    /** Bytes the diff adds to the rows (for the budget of all conflicts). */
    int size() {
        return (live == null ? 0 : live.length()) + (shadow == null ? 0 : shadow.length());
    }

    /** The two diffs of three texts (an absent version: empty), each bounded. */
    static ThreeWayDiff of(String path, byte[] base, byte[] live, byte[] shadow) throws IOException {
        return new ThreeWayDiff(unified(path, "base", base, "live", live), unified(path, "base", base, "shadow", shadow), null);
    }

    /** {@code diff -u}: empty when equal; the first lines, and how many more, when longer than the bounds. */
    static String unified(String path, String fromName, byte[] from, String toName, byte[] to) throws IOException {
        List<String> argv = List.of("diff", "-u", "--label", fromName + " " + path, "--label", toName + " " + path, "a", "b");
        return DiffTool.run(argv, Map.of("a", from, "b", to), TIMEOUT, (exit, out) -> {
            if (exit > 1) return "(diff failed, exit code " + exit + ")";
            StringBuilder shown = new StringBuilder();
            int lines = 0, more = 0;
            // a guest's text need not be UTF-8: shown with replacement characters
            try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(out), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (more == 0 && lines < MAX_LINES && shown.length() + line.length() + 1 <= MAX_BYTES) {
                        shown.append(line).append('\n');
                        lines++;
                    } else {
                        more++;
                    }
                }
            }
            if (more > 0) shown.append("[... ").append(more).append(" more line(s) of this diff not shown]\n");
            return shown.toString();
        }).orElse("(diff took longer than " + TIMEOUT.toSeconds() + " s: not shown)");
    }
}
