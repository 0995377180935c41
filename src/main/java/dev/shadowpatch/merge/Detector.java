package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.Errno;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Libc;
import dev.shadowpatch.merge.fs.Stat;
import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Detect stage: finds every path whose shadow version differs from the base version, and gathers
 * the facts (base, live, shadow versions and their comparisons) the planner decides on. It counts
 * what it looked at and what it had to refuse (another file system, too deep, a directory that
 * cannot be opened or read): a refused subtree is never taken for an unchanged one, it goes to the
 * plan as a conflict the operator sees.
 */
final class Detector {
    /** A subtree that was not compared, and why. */
    record Refusal(String path, String reason) {
        @Override public String toString() { return "/" + path + ": " + reason; }
    }

    private final MergePolicy policy;
    private final Tree base, live, shadow;
    private final Versions versions;
    private long scanned;
    private final List<Refusal> refusals = new ArrayList<>();

    Detector(MergePolicy policy, Tree base, Tree live, Tree shadow, Versions versions) {
        this.policy = policy; this.base = base; this.live = live; this.shadow = shadow; this.versions = versions;
    }

    /** Entries lstat'ed so far. */
    long scanned() { return scanned; }

    /** Subtrees not compared so far, in the order met. */
    List<Refusal> refusals() { return List.copyOf(refusals); }

    /** Paths (encoded) under rel, rel included, whose shadow version differs from the base's. */
    TreeSet<String> changedUnder(String rel) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        scan(rel, out);
        return out;
    }

    /**
     * Changed paths among those the change log names: each named path is compared; a directory an
     * event created, moved or deleted (or one whose type changed) is scanned whole.
     */
    TreeSet<String> changedByLog(ChangeLog log) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        for (Map.Entry<String, Boolean> e : log.paths.entrySet()) {
            String rel = e.getKey();
            if (policy.excluded(rel) || excludedAncestor(rel)) continue;
            if (e.getValue()) { scan(rel, out); continue; }
            Stat inBase = base.lstat(rel), inShadow = shadow.lstat(rel);
            scanned++;
            if (!versions.same(base, rel, inBase, shadow, inShadow)) out.add(rel);
            if (isDir(inBase) != isDir(inShadow)) scan(rel, out);
        }
        return out;
    }

    private boolean excludedAncestor(String rel) {
        for (String p = RelPath.parent(rel); !p.isEmpty(); p = RelPath.parent(p)) if (policy.excluded(p)) return true;
        return false;
    }

    private void scan(String rel, TreeSet<String> out) throws IOException {
        if (rel.isEmpty()) {
            int baseFd = base.openDirAt(base.rootFd(), new byte[]{'.'}, "."), shadowFd = shadow.openDirAt(shadow.rootFd(), new byte[]{'.'}, ".");
            try {
                scanned++;
                // the root directory's own metadata is not merged (see docs/merge.md, known gaps)
                walk("", baseFd, shadowFd, out);
            } finally {
                Libc.close(baseFd);
                Libc.close(shadowFd);
            }
            return;
        }
        Stat inBase = base.lstat(rel), inShadow = shadow.lstat(rel);
        scanned++;
        if (inBase == null && inShadow == null) return;
        if (!versions.same(base, rel, inBase, shadow, inShadow)) out.add(rel);
        descend(rel, isDir(inBase) ? base.dirFd(RelPath.parent(rel)) : -1, isDir(inShadow) ? shadow.dirFd(RelPath.parent(rel)) : -1,
                RelPath.decodeComponent(RelPath.name(rel)), out);
    }

    /** Walks into directory name (of the parents open as baseParent/shadowParent, -1 where it is no directory). */
    private void descend(String rel, int baseParent, int shadowParent, byte[] name, TreeSet<String> out) throws IOException {
        if (baseParent < 0 && shadowParent < 0) return;
        if (RelPath.depth(rel) >= Tree.MAX_DEPTH) { refuse(rel, "deeper than " + Tree.MAX_DEPTH); return; }
        int baseFd = -1, shadowFd = -1;
        try {
            if (baseParent >= 0 && (baseFd = openOrRefuse(base, baseParent, name, rel)) < 0) return;
            if (shadowParent >= 0 && (shadowFd = openOrRefuse(shadow, shadowParent, name, rel)) < 0) return;
            walk(rel, baseFd, shadowFd, out);
        } finally {
            if (baseFd >= 0) Libc.close(baseFd);
            if (shadowFd >= 0) Libc.close(shadowFd);
        }
    }

    private int openOrRefuse(Tree t, int parentFd, byte[] name, String rel) {
        try {
            return t.openDirAt(parentFd, name, rel);
        } catch (IOException e) {
            refuse(rel, t.label() + ": " + e.getMessage());
            return -1;
        }
    }

    private void refuse(String rel, String why) {
        refusals.add(new Refusal(rel, why));
    }

    private void walk(String rel, int baseFd, int shadowFd, TreeSet<String> out) throws IOException {
        TreeMap<String, byte[]> names = new TreeMap<>();
        try {
            if (baseFd >= 0) for (Tree.DirEntry d : base.list(baseFd)) names.put(RelPath.encodeComponent(d.name()), d.name());
            if (shadowFd >= 0) for (Tree.DirEntry d : shadow.list(shadowFd)) names.put(RelPath.encodeComponent(d.name()), d.name());
        } catch (IOException e) {
            refuse(rel, "cannot list: " + e.getMessage());
            return;
        }
        for (Map.Entry<String, byte[]> n : names.entrySet()) {
            String child = RelPath.join(rel, n.getKey());
            if (policy.excluded(child)) continue;
            byte[] name = n.getValue();
            Stat inBase = baseFd >= 0 ? base.lstatAt(baseFd, name) : null;
            Stat inShadow = shadowFd >= 0 ? shadow.lstatAt(shadowFd, name) : null;
            scanned++;
            if (inBase == null && inShadow == null) continue;
            if (!versions.sameAt(base, baseFd, inBase, shadow, shadowFd, inShadow, name)) out.add(child);
            descend(child, isDir(inBase) ? baseFd : -1, isDir(inShadow) ? shadowFd : -1, name, out);
        }
    }

    private static boolean isDir(Stat st) {
        return st != null && st.type() == FileType.DIR;
    }

    /** Facts of one path: its three versions and how they compare. */
    PathFacts facts(String rel) throws IOException {
        Stat inBase = base.lstat(rel), inLive = live.lstat(rel), inShadow = shadow.lstat(rel);
        scanned++;
        boolean liveSameBase = versions.same(base, rel, inBase, live, inLive);
        boolean liveSameShadow = versions.same(live, rel, inLive, shadow, inShadow);
        boolean contentSame = versions.sameContent(base, rel, inBase, shadow, inShadow);
        boolean additions = false;
        if (isDir(inBase) && isDir(inLive) && !isDir(inShadow)) {
            Set<String> baseNames = new HashSet<>();
            for (Tree.DirEntry d : base.list(base.dirFd(rel))) baseNames.add(RelPath.encodeComponent(d.name()));
            for (Tree.DirEntry d : live.list(live.dirFd(rel)))
                if (!baseNames.contains(RelPath.encodeComponent(d.name()))) { additions = true; break; }
        }
        return new PathFacts(rel, versions.entry(base, rel, inBase), versions.entry(live, rel, inLive), versions.entry(shadow, rel, inShadow),
                !liveSameBase || additions, liveSameShadow, contentSame, additions,
                inLive == null && !isDirectory(live, RelPath.parent(rel)));
    }

    /** Whether rel is a directory in t, reached without following a link. */
    private static boolean isDirectory(Tree t, String rel) throws IOException {
        try {
            t.dirFd(rel);
            return true;
        } catch (Errno e) {
            if (isMissing(e)) return false;
            throw e;
        }
    }

    static boolean isMissing(IOException e) {
        return e instanceof Errno en && (en.errno() == Libc.ENOENT || en.errno() == Libc.ENOTDIR || en.errno() == Libc.ELOOP);
    }
}
