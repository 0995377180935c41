package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Three-way line merge of text files with diff3 (GNU diffutils): {@code diff3 -m LIVE BASE SHADOW}.
 * The three contents are read through the trees' descriptors (never by path) and written to a
 * private 0700 temporary directory; only files up to 4 MiB without NUL bytes count as text.
 */
final class TextMerge implements Planner.TextMerger {
    static final long MAX = 4 << 20;
    private final Tree base, live, shadow;

    TextMerge(Tree base, Tree live, Tree shadow) {
        this.base = base; this.live = live; this.shadow = shadow;
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
        Path dir = Files.createTempDirectory("sp-diff3-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            Files.write(dir.resolve("live"), l);
            Files.write(dir.resolve("base"), b);
            Files.write(dir.resolve("shadow"), s);
            Process p = new ProcessBuilder("diff3", "-m", "live", "base", "shadow").directory(dir.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) { p.destroyForcibly(); return null; }
            return p.exitValue() == 0 ? out : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            for (String n : new String[]{"live", "base", "shadow"}) Files.deleteIfExists(dir.resolve(n));
            Files.deleteIfExists(dir);
        }
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
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
