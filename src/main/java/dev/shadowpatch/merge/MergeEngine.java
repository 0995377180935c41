package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.Stat;
import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import dev.shadowpatch.merge.fs.FileType;
import java.io.ByteArrayInputStream;
import java.util.function.Function;

/**
 * Exact three-way merge of a shadow tree's changes into a live tree (detect, plan, execute).
 * Plain Java; file system access goes through {@link Tree} (descriptor-relative, no link is followed).
 */
public final class MergeEngine {
    private final MergePolicy policy;

    public MergeEngine(MergePolicy policy) {
        this.policy = policy;
    }

    /** The three trees, open. */
    private record Open(Tree base, Tree live, Tree shadow) implements AutoCloseable {
        static Open of(MergeTrees t) throws IOException {
            Tree base = Tree.open(t.base(), "base");
            try {
                Tree live = Tree.open(t.live(), "live");
                try {
                    return new Open(base, live, Tree.open(t.shadow(), "shadow"));
                } catch (IOException e) { live.close(); throw e; }
            } catch (IOException e) { base.close(); throw e; }
        }

        @Override public void close() { base.close(); live.close(); shadow.close(); }
    }

    /** Where the guest agent (ops/guest-agent) writes the shadow's change log, relative to the guest's root. */
    public static final String GUEST_CHANGE_LOG = "var/lib/sp-change-capture/changes.log";
    private static final long MAX_GUEST_LOG = 256L << 20;

    /** Detect + plan. changeLog may be empty (then a full scan of shadow vs base). */
    public MergePlan plan(MergeTrees trees, Optional<Path> changeLog) throws IOException {
        return plan(trees, changeLog.isPresent() ? Optional.of(ChangeLog.read(changeLog.get())) : Optional.empty(), false);
    }

    /**
     * Detect + plan with the change log the guest agent left in the shadow tree itself
     * ({@value #GUEST_CHANGE_LOG}, read without following a link, at most 256 MiB), when there is
     * one; else a full scan. The scan stays the authority unless the policy trusts the log.
     */
    public MergePlan planWithGuestLog(MergeTrees trees) throws IOException {
        return plan(trees, Optional.empty(), true);
    }

    /**
     * Detect + plan of one file system of a guest with several: the part of the guest's change log
     * that falls on it ({@link ChangeLog#within}), or a full scan when there is none.
     */
    public MergePlan planWithLog(MergeTrees trees, Optional<ChangeLog> changeLog) throws IOException {
        return plan(trees, changeLog, false);
    }

    /**
     * The guest agent's change log in a shadow tree ({@code rel}: where it lies in that tree, e.g.
     * {@value #GUEST_CHANGE_LOG} in the root file system), read without following a link, at most
     * 256 MiB; empty when there is none.
     */
    public static Optional<ChangeLog> readGuestLog(Path shadowRoot, String rel) throws IOException {
        try (Tree shadow = Tree.open(shadowRoot, "shadow")) {
            return guestLog(shadow, rel);
        }
    }

    private MergePlan plan(MergeTrees trees, Optional<ChangeLog> given, boolean fromGuest) throws IOException {
        try (Open open = Open.of(trees)) {
            long t0 = System.nanoTime();
            Optional<ChangeLog> changeLog = fromGuest ? guestLog(open.shadow(), GUEST_CHANGE_LOG) : given;
            Detector detector = new Detector(policy, open.base(), open.live(), open.shadow(), new Versions());
            TreeSet<String> changed;
            List<String> missed = new ArrayList<>(), malformed = new ArrayList<>();
            long logPaths = -1;
            boolean full = true;
            if (changeLog.isPresent()) {
                ChangeLog log = changeLog.get();
                malformed.addAll(log.malformed);
                logPaths = log.paths.size();
                TreeSet<String> hinted = detector.changedByLog(log);
                full = policy.verifyChangeLog();
                if (full) {
                    changed = detector.changedUnder("");
                    for (String p : changed) if (!hinted.contains(p)) missed.add(p);
                } else changed = hinted;
            } else {
                changed = detector.changedUnder("");
            }
            Map<String, String> notScanned = new TreeMap<>();
            for (Detector.Refusal r : detector.refusals()) notScanned.merge(r.path(), r.reason(), (a, b) -> a + "; " + b);
            long logCount = logPaths;
            boolean fullScan = full;
            return decide(open, detector, changed, notScanned, p -> null, t0, (scanned, refused, detectMs, planMs) ->
                    new DetectInfo(scanned, fullScan, logCount, missed, malformed, refused, detectMs, planMs));
        }
    }

    private static Optional<ChangeLog> guestLog(Tree shadow, String rel) throws IOException {
        Stat st;
        try {
            st = shadow.lstat(rel);
        } catch (IOException e) {
            if (Detector.isMissing(e)) return Optional.empty(); // a link or a file on the way: no log
            throw e;
        }
        if (st == null || st.type() != FileType.FILE) return Optional.empty();
        byte[] text = shadow.readAllAt(shadow.dirFd(RelPath.parent(rel)),
                RelPath.decodeComponent(RelPath.name(rel)), MAX_GUEST_LOG);
        return Optional.of(ChangeLog.read(new ByteArrayInputStream(text)));
    }

    /**
     * Before approval, with the plan's trees still exposed: the approval form's rows for the plan's
     * unresolved conflicts, with their text diffs read from the trees (no link followed), added to
     * {@code into} (whose bounds hold across the file systems of a VM).
     */
    public ConflictRows conflictRows(MergePlan plan, MergeTrees trees, Function<String, String> guestPath, ConflictRows into)
            throws IOException {
        List<Conflict> conflicts = plan.unresolvedConflicts();
        if (conflicts.isEmpty()) return into;
        try (Open open = Open.of(trees)) {
            return into.add(conflicts, guestPath, (side, rel, max) -> {
                Tree t = switch (side) { case BASE -> open.base(); case LIVE -> open.live(); case SHADOW -> open.shadow(); };
                return t.readAllAt(t.dirFd(RelPath.parent(rel)), RelPath.decodeComponent(RelPath.name(rel)), max);
            });
        }
    }

    /** In the window: re-decide only the paths of an approved plan against the live tree as it is now; operator resolutions applied. */
    public MergePlan replan(MergePlan approved, MergeTrees trees) throws IOException {
        try (Open open = Open.of(trees)) {
            long t0 = System.nanoTime();
            Detector detector = new Detector(policy, open.base(), open.live(), open.shadow(), new Versions());
            Map<String, Decision> resolutions = new HashMap<>();
            Map<String, String> notScanned = new TreeMap<>();
            List<String> paths = new ArrayList<>();
            for (Op o : approved.ops()) {
                if (o.resolution() != null) resolutions.put(o.path(), o.resolution());
                if (o.conflict() == ConflictKind.NOT_SCANNED) notScanned.put(o.path(), o.note());
                else paths.add(o.path());
            }
            DetectInfo a = approved.detect();
            return decide(open, detector, paths, notScanned, resolutions::get, t0,
                    (scanned, refused, detectMs, planMs) -> new DetectInfo(scanned, false, -1, a == null ? List.of() : a.logMissed(),
                            a == null ? List.of() : a.logMalformed(), refused, detectMs, planMs));
        }
    }

    private interface Info { DetectInfo of(long scanned, List<String> refused, long detectMillis, long planMillis); }

    /** The one loop of plan and replan: facts of each path, then the planner's decisions. */
    private MergePlan decide(Open open, Detector detector, Collection<String> paths, Map<String, String> notScanned,
                             Function<String, Decision> resolutions, long t0, Info info) throws IOException {
        List<PathFacts> facts = new ArrayList<>(paths.size() + notScanned.size());
        for (String rel : paths) if (!notScanned.containsKey(rel)) facts.add(detector.facts(rel));
        for (String rel : notScanned.keySet()) facts.add(factsOrAbsent(detector, rel));
        long t1 = System.nanoTime();
        List<Op> ops = Planner.plan(facts, notScanned, policy::actionFor, resolutions,
                new TextMerge(open.base(), open.live(), open.shadow()));
        long t2 = System.nanoTime();
        List<String> refused = new ArrayList<>();
        notScanned.forEach((p, why) -> refused.add("/" + p + ": " + why));
        return new MergePlan(ops, info.of(detector.scanned(), refused, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000));
    }

    private static PathFacts factsOrAbsent(Detector detector, String rel) {
        try {
            return detector.facts(rel);
        } catch (IOException | RuntimeException e) {
            return PathFacts.fromEntries(rel, null, null, null, false);
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
        return execute(plan, trees, journal, null);
    }

    /**
     * As {@link #execute(MergePlan, MergeTrees, Journal)}, but no operation starts after {@code deadline}
     * (null: none): those left make the report incomplete, the journal stays for a resume.
     */
    public MergeReport execute(MergePlan plan, MergeTrees trees, Journal journal, Instant deadline) throws IOException {
        List<Conflict> open = plan.unresolvedConflicts();
        if (!open.isEmpty()) throw new MergeConflictException(open);
        if (journal != null) journal.begin(plan);
        return run(plan, trees, journal, Set.of(), false, deadline);
    }

    /** Finishes an interrupted merge: its plan, without the operations it completed; each other one accepts its halfway states. */
    public MergeReport resume(Journal.Interrupted interrupted, MergeTrees trees, Journal journal) throws IOException {
        return resume(interrupted, trees, journal, null);
    }

    /** As {@link #resume(Journal.Interrupted, MergeTrees, Journal)}, starting no operation after {@code deadline} (null: none). */
    public MergeReport resume(Journal.Interrupted interrupted, MergeTrees trees, Journal journal, Instant deadline) throws IOException {
        journal.resume();
        return run(interrupted.plan(), trees, journal, interrupted.done(), true, deadline);
    }

    private MergeReport run(MergePlan plan, MergeTrees trees, Journal journal, Set<String> doneBefore,
                            boolean resuming, Instant deadline) throws IOException {
        try (Open open = Open.of(trees)) {
            if (open.live().rootDev() == open.shadow().rootDev() && sameDir(open.live(), open.shadow()))
                throw new IOException("live and shadow are the same directory");
            long t0 = System.nanoTime();
            Executor executor = new Executor(open.base(), open.live(), open.shadow(), new Versions(), journal, doneBefore, resuming, deadline);
            Executor.Result done = executor.run(plan);
            long t1 = System.nanoTime();
            Map<String, String> left = new LinkedHashMap<>(done.left());
            executor.sync().ifPresent(why -> left.put("", why));
            long t2 = System.nanoTime();
            Map<String, Duration> times = new LinkedHashMap<>();
            DetectInfo di = plan.detect();
            if (di != null) {
                times.put("detect", Duration.ofMillis(di.detectMillis()));
                times.put("plan", Duration.ofMillis(di.planMillis()));
            }
            times.put("execute", Duration.ofNanos(t1 - t0));
            times.put("sync", Duration.ofNanos(t2 - t1));
            MergeReport report = new MergeReport(plan.ruleCounts(), done.bytesCopied(), di == null ? 0 : di.pathsScanned(), times,
                    left, done.alreadyDone(), doneBefore.size(), di);
            if (journal != null) {
                if (report.complete()) journal.finish();
                else journal.close();
            }
            return report;
        }
    }

    private static boolean sameDir(Tree a, Tree b) throws IOException {
        return Tree.fstat(a.rootFd()).ino() == Tree.fstat(b.rootFd()).ino();
    }
}
