package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Exact three-way merge of a shadow tree's changes into a live tree (detect, plan, execute).
 * Plain Java; file system access goes through {@link Tree} (descriptor-relative, no link is followed).
 */
public final class MergeEngine {
    private final MergePolicy policy;

    public MergeEngine(MergePolicy policy) {
        this.policy = policy;
    }

    private static Tree[] open(MergeTrees t) throws IOException {
        Tree b = Tree.open(t.base(), "base");
        try {
            Tree l = Tree.open(t.live(), "live");
            try {
                return new Tree[]{b, l, Tree.open(t.shadow(), "shadow")};
            } catch (IOException e) { l.close(); throw e; }
        } catch (IOException e) { b.close(); throw e; }
    }

    private static void close(Tree[] t) {
        for (Tree x : t) x.close();
    }

    /** Detect + plan. changeLog may be empty (then a full scan of shadow vs base). */
    public MergePlan plan(MergeTrees trees, Optional<Path> changeLog) throws IOException {
        Tree[] t = open(trees);
        try {
            long t0 = System.nanoTime();
            Detector d = new Detector(policy, t[0], t[1], t[2]);
            TreeMap<String, Boolean> changed = new TreeMap<>();
            List<String> missed = new ArrayList<>(), malformed = new ArrayList<>();
            long logPaths = -1;
            boolean full;
            if (changeLog.isPresent()) {
                ChangeLog log = ChangeLog.read(changeLog.get());
                malformed.addAll(log.malformed);
                logPaths = log.paths.size();
                TreeMap<String, Boolean> hinted = new TreeMap<>();
                for (Map.Entry<String, Boolean> e : log.paths.entrySet()) {
                    String rel = e.getKey();
                    if (policy.excluded(rel) || isExcludedAncestor(rel)) continue;
                    if (e.getValue()) d.scan(rel, hinted); // a directory created, moved or deleted: its whole subtree
                    else {
                        var b = t[0].lstat(rel); var s = t[2].lstat(rel);
                        d.scanned++;
                        if (!d.sameVersion(t[0], rel, b, t[2], s)) hinted.put(rel, true);
                        boolean bd = b != null && b.type() == dev.shadowpatch.merge.fs.FileType.DIR;
                        boolean sd = s != null && s.type() == dev.shadowpatch.merge.fs.FileType.DIR;
                        if (bd != sd) d.scan(rel, hinted);
                    }
                }
                full = policy.verifyChangeLog();
                if (full) {
                    d.scan("", changed);
                    for (String p : changed.keySet()) if (!hinted.containsKey(p)) missed.add(p);
                } else changed = hinted;
            } else {
                full = true;
                d.scan("", changed);
            }
            List<PathFacts> facts = new ArrayList<>(changed.size());
            for (String rel : changed.keySet()) facts.add(d.facts(rel));
            long t1 = System.nanoTime();
            List<Op> ops = Planner.plan(facts, policy::actionFor, p -> null, new TextMerge(t[0], t[1], t[2]));
            long t2 = System.nanoTime();
            DetectInfo info = new DetectInfo(d.scanned, full, logPaths, missed, malformed, d.refused,
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
            return new MergePlan(ops, info);
        } finally {
            close(t);
        }
    }

    private boolean isExcludedAncestor(String rel) {
        for (String p = RelPath.parent(rel); !p.isEmpty(); p = RelPath.parent(p)) if (policy.excluded(p)) return true;
        return false;
    }

    /** In the window: re-decide only the paths of an approved plan against the live tree as it is now; operator resolutions applied. */
    public MergePlan replan(MergePlan approved, MergeTrees trees) throws IOException {
        Tree[] t = open(trees);
        try {
            long t0 = System.nanoTime();
            Detector d = new Detector(policy, t[0], t[1], t[2]);
            List<PathFacts> facts = new ArrayList<>();
            for (Op o : approved.ops()) { facts.add(d.facts(o.path())); d.scanned++; }
            long t1 = System.nanoTime();
            Map<String, Resolution> resolutions = new java.util.HashMap<>();
            for (Op o : approved.ops()) if (o.resolution() != null) resolutions.put(o.path(), o.resolution());
            List<Op> ops = Planner.plan(facts, policy::actionFor, resolutions::get, new TextMerge(t[0], t[1], t[2]));
            long t2 = System.nanoTime();
            DetectInfo a = approved.detect();
            DetectInfo info = new DetectInfo(d.scanned, false, -1, a == null ? List.of() : a.logMissed(),
                    a == null ? List.of() : a.logMalformed(), d.refused, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
            return new MergePlan(ops, info);
        } finally {
            close(t);
        }
    }

    /** Executes a plan; refuses (MergeConflictException, nothing written) when it holds unresolved 'ask' conflicts. */
    public MergeReport execute(MergePlan plan, MergeTrees trees) throws IOException {
        return execute(plan, trees, null);
    }

    /**
     * Executes a plan, recording it and every completed operation in the journal (null: none), so
     * that a merge killed at any point is finished by {@link #resume}. The journal is removed when
     * the merge completed and the live file system was synced.
     */
    public MergeReport execute(MergePlan plan, MergeTrees trees, Journal journal) throws IOException {
        List<Conflict> open = plan.unresolvedConflicts();
        if (!open.isEmpty()) throw new MergeConflictException(open);
        if (journal != null) journal.begin(plan);
        return run(plan, trees, journal, java.util.Set.of(), false);
    }

    /** Finishes an interrupted merge: its plan, without the operations it completed; each other one accepts its halfway states. */
    public MergeReport resume(Journal.Interrupted interrupted, MergeTrees trees, Journal journal) throws IOException {
        journal.resume();
        return run(interrupted.plan(), trees, journal, interrupted.done(), true);
    }

    private MergeReport run(MergePlan plan, MergeTrees trees, Journal journal, java.util.Set<String> doneBefore,
                            boolean resuming) throws IOException {
        Tree[] t = open(trees);
        try {
            if (t[1].rootDev() == t[2].rootDev() && sameDir(t[1], t[2]))
                throw new IOException("live and shadow are the same directory");
            long t0 = System.nanoTime();
            Executor x = new Executor(t[0], t[1], t[2], journal, doneBefore, resuming);
            x.run(plan);
            long t1 = System.nanoTime();
            x.sync();
            long t2 = System.nanoTime();
            Map<String, Duration> times = new LinkedHashMap<>();
            DetectInfo di = plan.detect();
            if (di != null) {
                times.put("detect", Duration.ofMillis(di.detectMillis()));
                times.put("plan", Duration.ofMillis(di.planMillis()));
            }
            times.put("execute", Duration.ofNanos(t1 - t0));
            times.put("sync", Duration.ofNanos(t2 - t1));
            MergeReport report = new MergeReport(plan.ruleCounts(), x.bytesCopied(), di == null ? 0 : di.pathsScanned(), times,
                    x.failed, x.alreadyDone, doneBefore.size(), di);
            if (journal != null) {
                if (report.complete()) journal.finish();
                else journal.close();
            }
            return report;
        } finally {
            close(t);
        }
    }

    private static boolean sameDir(Tree a, Tree b) throws IOException {
        return Tree.fstat(a.rootFd()).ino() == Tree.fstat(b.rootFd()).ino();
    }

}
