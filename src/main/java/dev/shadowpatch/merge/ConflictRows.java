package dev.shadowpatch.merge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.merge.fs.FileType;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The approval form's conflict rows, built before the window while the three trees are exposed
 * (the form cannot read them later). Added to per file system; the bounds hold for the whole VM:
 * at most {@value #MAX_ROWS} rows (the rest are counted, and decided by the form's fallback) and
 * {@value #MAX_DIFF_BYTES} bytes of diffs for all of them (a row past it says so instead).
 */
public final class ConflictRows {
    static final int MAX_ROWS = 500;
    static final int MAX_DIFF_BYTES = 256 << 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Side { BASE, LIVE, SHADOW }

    /** The content of a regular file of one side (its size known to be at most max). */
    public interface Contents {
        byte[] read(Side side, String path, long max) throws IOException;
    }

    private final List<ConflictRow> rows = new ArrayList<>();
    private int more;
    private int diffBytes;

    /** Rows for a file system's conflicts; guestPath maps a path of that file system to the guest's. */
    public ConflictRows add(List<Conflict> conflicts, Function<String, String> guestPath, Contents contents) {
        for (Conflict c : conflicts) {
            if (rows.size() >= MAX_ROWS) {
                more++;
                continue;
            }
            rows.add(row(c, guestPath.apply(c.path()), contents));
        }
        return this;
    }

    public List<ConflictRow> rows() { return List.copyOf(rows); }

    /** Conflicts beyond {@value #MAX_ROWS} rows: not shown, decided by the fallback. */
    public int more() { return more; }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rows", rows);
        m.put("more", more);
        m.put("limits", "diffs: at most " + 2 * ThreeWayDiff.MAX_LINES + " lines and " + (2 * ThreeWayDiff.MAX_BYTES >> 10)
                + " KiB per file, " + (MAX_DIFF_BYTES >> 10) + " KiB for all conflicts; text: files up to "
                + (TextMerge.MAX >> 20) + " MiB without NUL bytes");
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private ConflictRow row(Conflict c, String path, Contents contents) {
        byte[][] text = null; // base, live, shadow; an absent version is empty
        ThreeWayDiff diff;
        String notText = notText(c);
        if (notText != null) {
            diff = ThreeWayDiff.none(notText);
        } else if (diffBytes >= MAX_DIFF_BYTES) {
            diff = overBudget();
        } else {
            try {
                text = new byte[][]{read(contents, Side.BASE, c.path(), c.base()), read(contents, Side.LIVE, c.path(), c.live()),
                        read(contents, Side.SHADOW, c.path(), c.shadow())};
                diff = binary(text) ? ThreeWayDiff.none("binary file (NUL bytes): no text diff")
                        : ThreeWayDiff.of(path, text[0], text[1], text[2]);
            } catch (IOException e) {
                diff = ThreeWayDiff.none("not read for a diff: " + e.getMessage());
            }
            if (diff.size() > MAX_DIFF_BYTES - diffBytes) diff = overBudget();
            diffBytes += diff.size();
        }
        Boolean liveSame = text == null ? null : Arrays.equals(text[0], text[1]);
        Boolean shadowSame = text == null ? null : Arrays.equals(text[0], text[2]);
        List<ConflictRow.Choice> choices = c.choices().stream().map(ConflictRow.Choice::of).toList();
        return new ConflictRow(path, c.kind(), c.note(), c.policy(), SideChange.between(c.base(), c.live(), liveSame),
                SideChange.between(c.base(), c.shadow(), shadowSame), choices, ConflictRow.preselect(c.policy(), c.choices()), diff);
    }

    private static ThreeWayDiff overBudget() {
        return ThreeWayDiff.none("diff left out: the diffs of all conflicts are limited to " + (MAX_DIFF_BYTES >> 10) + " KiB");
    }

    /** Why the versions are no texts to diff, or null: every version there is a regular file within the size limit. */
    private static String notText(Conflict c) {
        for (Entry e : new Entry[]{c.base(), c.live(), c.shadow()}) {
            if (e == null) continue;
            if (e.type() != FileType.FILE) return "no text diff: not a regular file on every side (see each side)";
            if (e.size() > TextMerge.MAX)
                return "too large for a text diff: " + e.size() + " bytes (the limit is " + (TextMerge.MAX >> 20) + " MiB)";
        }
        return null;
    }

    private static byte[] read(Contents contents, Side side, String rel, Entry e) throws IOException {
        return e == null ? new byte[0] : contents.read(side, rel, TextMerge.MAX);
    }

    private static boolean binary(byte[][] texts) {
        for (byte[] t : texts) for (byte b : t) if (b == 0) return true;
        return false;
    }
}
