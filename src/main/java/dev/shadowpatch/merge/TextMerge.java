package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.security.NoSuchAlgorithmException;

/**
 * Three-way line merge of text files with diff3 (GNU diffutils): {@code diff3 -m -E LIVE BASE SHADOW};
 * where that is not clean, the account databases are merged record by record ({@link AccountFileMerge}).
 * The three contents are read through the trees' descriptors (never by path) and handed to diff3 in a
 * private temporary directory ({@link DiffTool}); only files up to 4 MiB without NUL bytes count as text.
 */
final class TextMerge implements Planner.TextMerger {
    static final long MAX = 4 << 20;
    /**
     * -E: a change both sides made alike is merged, not bracketed (plain -m brackets it, so a
     * completed three-way merge planned again, or a patch line the live VM also added, was a conflict).
     */
    static final List<String> DIFF3 = List.of("diff3", "-m", "-E");
    private final Tree base, live, shadow;
    private final List<String> command;
    private final Duration timeout;

    TextMerge(Tree base, Tree live, Tree shadow) {
        this(base, live, shadow, DIFF3, Duration.ofSeconds(60));
    }

    /** command: diff3 and its options, to which "live base shadow" are appended; a run longer than timeout is killed (no merge). */
    TextMerge(Tree base, Tree live, Tree shadow, List<String> command, Duration timeout) {
        this.base = base; this.live = live; this.shadow = shadow;
        this.command = List.copyOf(command); this.timeout = timeout;
    }

    @Override
    public Optional<Planner.Merged> merge(PathFacts f) {
        try {
            byte[] m = mergedContent(f.path(), f.base() != null);
            if (m == null) return Optional.empty();
            return Optional.of(new Planner.Merged(sha256(m), m.length));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The clean merge, or null when not text or not clean. */
    byte[] mergedContent(String rel, boolean hasBase) throws IOException {
        byte[] l = read(live, rel), s = read(shadow, rel), b = hasBase ? read(base, rel) : new byte[0];
        if (l == null || s == null || b == null) return null;
        List<String> argv = new ArrayList<>(command);
        argv.addAll(List.of("live", "base", "shadow"));
        byte[] lines = DiffTool.run(argv, Map.of("live", l, "base", b, "shadow", s), timeout,
                (exit, merged) -> exit != 0 || Files.size(merged) > 3 * MAX ? null : Files.readAllBytes(merged)).orElse(null);
        if (lines == null && hasBase && AccountFileMerge.applies(rel)) {
            return AccountFileMerge.merge(rel, b, l, s).orElse(null); // record by record where lines collide
        }
        return lines;
    }

    private static byte[] read(Tree t, String rel) throws IOException {
        var st = t.lstat(rel);
        if (st == null || st.type() != FileType.FILE || st.size() > MAX) return null;
        byte[] c = t.readAllAt(t.dirFd(RelPath.parent(rel)), RelPath.decodeComponent(RelPath.name(rel)), MAX);
        for (byte x : c) if (x == 0) return null;
        return c;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
