package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Stat;
import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Comparisons of two versions of a path (in two of the trees) and the caches behind them, shared by
 * the detect and execute stages. lstat identity (inode, size, mtime, ctime, mode, owner, link
 * count) settles "unchanged" without reading anything else; only entries whose identity differs get
 * their xattrs, link targets and, when sizes are equal, content hashes compared. Hashes and xattrs
 * are cached by identity (any content or xattr change moves ctime).
 */
final class Versions {
    private static final int XATTR_CACHE = 100_000;
    private final Map<String, String> hashes = new HashMap<>();
    private final Map<String, Map<String, String>> xattrCache = new HashMap<>();

    /** Whether rel is the same version in both trees (both absent counts as the same). */
    boolean same(Tree ta, String rel, Stat a, Tree tb, Stat b) throws IOException {
        if (a == null || b == null) return a == b;
        if (rel.isEmpty()) return sameAt(ta, ta.rootFd(), a, tb, tb.rootFd(), b, null);
        return sameAt(ta, ta.dirFd(RelPath.parent(rel)), a, tb, tb.dirFd(RelPath.parent(rel)), b, name(rel));
    }

    /** The same for name in two open directories; name == null: the directories themselves (tree roots). */
    boolean sameAt(Tree ta, int fa, Stat a, Tree tb, int fb, Stat b, byte[] name) throws IOException {
        if (a == null || b == null) return a == b;
        if (a.type() != b.type() || a.mode() != b.mode() || a.uid() != b.uid() || a.gid() != b.gid()) return false;
        if (a.sameIdentity(b)) return true;
        switch (a.type()) {
            case FILE -> { if (a.size() != b.size()) return false; }
            case CHAR, BLOCK -> { if (a.rdevMajor() != b.rdevMajor() || a.rdevMinor() != b.rdevMinor()) return false; }
            case SYMLINK -> {
                if (a.size() != b.size()) return false;
                if (!Arrays.equals(ta.readlinkAt(fa, name), tb.readlinkAt(fb, name))) return false;
            }
            default -> { }
        }
        if (!xattrs(ta, fa, name, a).equals(xattrs(tb, fb, name, b))) return false;
        if (a.type() == FileType.FILE) return hash(ta, fa, name, a).equals(hash(tb, fb, name, b));
        return true;
    }

    /** Same type and content (file bytes, link target, device number), metadata aside. */
    boolean sameContent(Tree ta, String rel, Stat a, Tree tb, Stat b) throws IOException {
        if (a == null || b == null || a.type() != b.type()) return false;
        return switch (a.type()) {
            case FILE -> a.size() == b.size() && (a.sameIdentity(b) || hash(ta, ta.dirFd(RelPath.parent(rel)), name(rel), a)
                    .equals(hash(tb, tb.dirFd(RelPath.parent(rel)), name(rel), b)));
            case SYMLINK -> Arrays.equals(ta.readlinkAt(ta.dirFd(RelPath.parent(rel)), name(rel)),
                    tb.readlinkAt(tb.dirFd(RelPath.parent(rel)), name(rel)));
            case CHAR, BLOCK -> a.rdevMajor() == b.rdevMajor() && a.rdevMinor() == b.rdevMinor();
            default -> true;
        };
    }

    /** The full version of rel in tree t (null when absent); sha256 filled in when already hashed. */
    Entry entry(Tree t, String rel, Stat st) throws IOException {
        if (st == null) return null;
        int pfd = rel.isEmpty() ? t.rootFd() : t.dirFd(RelPath.parent(rel));
        byte[] name = rel.isEmpty() ? new byte[]{'.'} : name(rel);
        String target = st.type() == FileType.SYMLINK ? RelPath.encodeBytes(t.readlinkAt(pfd, name)) : null;
        String sha = st.type() == FileType.FILE ? hashes.get(key(t, st)) : null;
        return Entry.of(st, target, xattrs(t, pfd, name, st), sha);
    }

    private String hash(Tree t, int dirfd, byte[] name, Stat st) throws IOException {
        String key = key(t, st);
        String h;
        synchronized (hashes) { h = hashes.get(key); }
        if (h == null) {
            h = t.sha256At(dirfd, name);
            synchronized (hashes) { hashes.put(key, h); }
        }
        return h;
    }

    private Map<String, String> xattrs(Tree t, int dirfd, byte[] name, Stat st) throws IOException {
        String key = key(t, st);
        Map<String, String> x;
        synchronized (xattrCache) { x = xattrCache.get(key); }
        if (x == null) {
            TreeMap<String, byte[]> raw = t.xattrsAt(dirfd, name == null ? new byte[]{'.'} : name);
            TreeMap<String, String> encoded = new TreeMap<>();
            for (Map.Entry<String, byte[]> e : raw.entrySet()) encoded.put(e.getKey(), Base64.getEncoder().encodeToString(e.getValue()));
            x = encoded;
            synchronized (xattrCache) {
                if (xattrCache.size() > XATTR_CACHE) xattrCache.clear();
                xattrCache.put(key, x);
            }
        }
        return x;
    }

    private static String key(Tree t, Stat st) {
        return t.label() + "\0" + st.devMajor() + ":" + st.devMinor() + ":" + st.ino() + ":" + st.size() + ":"
                + st.mtimeSec() + "." + st.mtimeNsec() + ":" + st.ctimeSec() + "." + st.ctimeNsec();
    }

    private static byte[] name(String rel) {
        return RelPath.decodeComponent(RelPath.name(rel));
    }
}
