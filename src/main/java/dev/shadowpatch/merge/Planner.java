package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.FileType;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

import static dev.shadowpatch.merge.Op.Action.*;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The decision for one path: a pure function of its three versions, the policy action of its glob
 * rule and an operator's resolution. Three-way text merges are computed by the given merger (which
 * must itself be deterministic in the three contents).
 */
public final class Planner {
    /** Computes a diff3-style merge of the three versions; empty when the merge is not clean or not text. */
    public interface TextMerger {
        Optional<Merged> merge(PathFacts facts);
    }

    public record Merged(String sha256, long size) {}

    public static final TextMerger NO_MERGE = f -> Optional.empty();

    private Planner() {}

    public static Op decide(PathFacts f, Decision pol, Decision resolution, TextMerger merger) {
        Entry b = f.base(), l = f.live(), s = f.shadow();
        if (pol == Decision.EXCLUDE) return op(f, NONE, Rule.EXCLUDED, null, pol, null, 0, null);
        if (PathFacts.sameOrBothAbsent(b, s, f.shadowContentSame()))
            return op(f, NONE, Rule.UNCHANGED, null, pol, null, 0, null);
        if (f.liveSameAsShadow())
            return op(f, NONE, s == null ? Rule.BOTH_DELETED : Rule.SAME_CHANGE, null, pol, null, 0, null);
        if (hybridDone(f))
            return op(f, NONE, Rule.HYBRID_DONE, null, pol, null, 0, null);
        if (!f.liveChanged()) {
            // live is still the base version: the shadow's change is taken (paper rules 1-3)
            if (s == null) return op(f, DELETE, Rule.TAKE_SHADOW_DELETE, null, pol, null, 0, null);
            if (b == null) return op(f, WRITE, Rule.TAKE_SHADOW_CREATE, null, pol, null, bytes(s), null);
            if (b.type() != s.type()) return op(f, WRITE, Rule.TYPE_CHANGE, null, pol, null, bytes(s), null);
            if (f.shadowContentSame()) return op(f, META, Rule.METADATA_ONLY, null, pol, null, 0, null);
            return op(f, WRITE, Rule.TAKE_SHADOW_REPLACE, null, pol, null, bytes(s), null);
        }
        ConflictKind kind = b == null ? ConflictKind.BOTH_CREATED : s == null ? ConflictKind.DELETE_MODIFY
                : l == null ? ConflictKind.MODIFY_DELETE : ConflictKind.BOTH_MODIFIED;
        return conflict(f, kind, pol, resolution, merger);
    }

    /** A conflict of the given kind, settled by the operator's resolution, else by the path's policy. */
    private static Op conflict(PathFacts f, ConflictKind kind, Decision pol, Decision resolution, TextMerger merger) {
        Entry b = f.base(), l = f.live(), s = f.shadow();
        if (resolution != null) {
            return switch (resolution) {
                case KEEP_LIVE -> op(f, NONE, Rule.KEEP_LIVE, kind, pol, resolution, 0, null);
                case TAKE_SHADOW -> takeShadow(f, kind, pol, resolution);
                case HYBRID -> hybridPossible(l, s) ? op(f, HYBRID, Rule.HYBRID, kind, pol, resolution, bytes(s), null)
                        : ask(f, kind, pol, merger);
                // the operator chose the line merge: taken while diff3 still merges it cleanly, else asked again
                case THREE_WAY -> lineMerge(f, merger).map(m -> op(f, MERGE3, Rule.THREE_WAY_MERGED, kind, pol, resolution, m.size(), m.sha256()))
                        .orElseGet(() -> op(f, ASK, Rule.ASK, kind, pol, null, 0, null));
                default -> throw new IllegalArgumentException("not an operator's resolution: " + resolution);
            };
        }
        return switch (pol) {
            case KEEP_LIVE -> op(f, NONE, Rule.KEEP_LIVE, kind, pol, null, 0, null);
            case TAKE_SHADOW -> takeShadow(f, kind, pol, null);
            case HYBRID -> hybridPossible(l, s) ? op(f, HYBRID, Rule.HYBRID, kind, pol, null, bytes(s), null)
                    : ask(f, kind, pol, merger);
            // diff3 did not merge it cleanly: asked, with no line merge to offer
            case THREE_WAY -> lineMerge(f, merger).map(m -> op(f, MERGE3, Rule.THREE_WAY_MERGED, kind, pol, null, m.size(), m.sha256()))
                    .orElseGet(() -> op(f, ASK, Rule.ASK, kind, pol, null, 0, null));
            default -> ask(f, kind, pol, merger);
        };
    }

    /** The clean three-way merge of a path whose three versions are files (base may be absent) and whose metadata do not clash. */
    private static Optional<Merged> lineMerge(PathFacts f, TextMerger merger) {
        Entry b = f.base(), l = f.live(), s = f.shadow();
        if (!isFile(l) || !isFile(s) || (b != null && !isFile(b)) || metadataClash(b, l, s)) return Optional.empty();
        return merger.merge(f);
    }

    /** An unresolved conflict; where diff3 merges its text cleanly, the merge is offered to the operator. */
    private static Op ask(PathFacts f, ConflictKind kind, Decision pol, TextMerger merger) {
        Merged offer = lineMerge(f, merger).orElse(null);
        return new Op(f.path(), ASK, Rule.ASK, kind, pol, null, 0, null, f, null, offer);
    }

    /** What an operator may choose for a conflict: only what can execute (a line merge only where diff3 merged it cleanly). */
    public static List<Decision> choices(Op o) {
        if (o.conflict() == ConflictKind.LIVE_PARENT_NOT_DIRECTORY || o.conflict() == ConflictKind.NOT_SCANNED) return List.of(Decision.KEEP_LIVE);
        List<Decision> out = new ArrayList<>(List.of(Decision.KEEP_LIVE, Decision.TAKE_SHADOW));
        if (hybridPossible(o.live(), o.shadow())) out.add(Decision.HYBRID);
        if (o.lineMerge() != null) out.add(Decision.THREE_WAY);
        return List.copyOf(out);
    }

    /**
     * The decisions for all changed paths: each path decided on its own ({@link #decide}), then
     * settled as a tree so that every operation can execute:
     * <ol>
     * <li>bottom-up, a live directory the shadow removes or retypes stays when an entry below it
     *     stays in the live tree: a plain removal becomes {@link Rule#KEPT_FOR_LIVE_ENTRIES}, a type
     *     change becomes a {@code live-keeps-entries} conflict (keep the live directory, or take the
     *     shadow's entry and remove the live tree);</li>
     * <li>top-down, an operation that writes under a live parent that will be no directory is not
     *     taken: under a live entry kept by a decision it is {@link Rule#UNDER_KEPT_LIVE}, otherwise
     *     (the live VM removed or replaced the directory) a {@code live-parent-not-directory}
     *     conflict whose only choice is keep-live.</li>
     * </ol>
     */
    public static List<Op> plan(List<PathFacts> facts, Function<String, Decision> policy,
                                Function<String, Decision> resolutions, TextMerger merger) {
        return plan(facts, Map.of(), policy, resolutions, merger);
    }

    /** The same, with the subtrees the detect stage refused (path -> reason; their facts among facts). */
    public static List<Op> plan(List<PathFacts> facts, Map<String, String> notScanned, Function<String, Decision> policy,
                                Function<String, Decision> resolutions, TextMerger merger) {
        TreeMap<String, Op> ops = new TreeMap<>();
        for (PathFacts f : facts) {
            String p = f.path();
            ops.put(p, notScanned.containsKey(p) ? notScanned(f, notScanned.get(p), policy.apply(p), resolutions.apply(p))
                    : decide(f, policy.apply(p), resolutions.apply(p), merger));
        }
        List<String> deepestFirst = new ArrayList<>(ops.keySet());
        deepestFirst.sort(Comparator.comparingInt(RelPath::depth).reversed().thenComparing(Comparator.reverseOrder()));
        for (String p : deepestFirst) {
            Op o = ops.get(p);
            if (!removesLiveDirectory(o) || o.rule() == Rule.TAKE_SHADOW || !liveKeepsEntriesUnder(ops, p)) continue;
            if (o.rule() == Rule.TAKE_SHADOW_DELETE)
                ops.put(p, op(o.facts(), NONE, Rule.KEPT_FOR_LIVE_ENTRIES, null, o.policy(), null, 0, null));
            else if (o.rule() == Rule.TYPE_CHANGE)
                ops.put(p, conflict(o.facts(), ConflictKind.LIVE_KEEPS_ENTRIES, policy.apply(p), resolutions.apply(p), merger));
        }
        for (String p : ops.keySet()) { // path order: parents before their children
            Op o = ops.get(p);
            if (!writesUnder(o) || liveDirectoryAfter(ops, RelPath.parent(p), o.facts())) continue;
            Op keeper = nearestAncestorIn(ops, p);
            if (keeper != null && keeper.rule() == Rule.ASK) continue; // decided with that conflict
            if (keeper != null && (keeper.rule() == Rule.KEEP_LIVE || keeper.rule() == Rule.UNDER_KEPT_LIVE))
                ops.put(p, op(o.facts(), NONE, Rule.UNDER_KEPT_LIVE, null, o.policy(), null, 0, null));
            else {
                Decision r = resolutions.apply(p);
                ops.put(p, r == Decision.KEEP_LIVE
                        ? op(o.facts(), NONE, Rule.KEEP_LIVE, ConflictKind.LIVE_PARENT_NOT_DIRECTORY, o.policy(), r, 0, null)
                        : op(o.facts(), ASK, Rule.ASK, ConflictKind.LIVE_PARENT_NOT_DIRECTORY, o.policy(), null, 0, null));
            }
        }
        return new ArrayList<>(ops.values());
    }

    /**
     * A subtree the detect stage refused: a conflict (the reason in its note) that only an
     * operator's keep-live settles (the subtree stays as the live VM has it, unmerged), or the
     * path's keep-live policy. Nothing is skipped without a word.
     */
    static Op notScanned(PathFacts f, String reason, Decision policy, Decision r) {
        Op o = policy == Decision.KEEP_LIVE || r == Decision.KEEP_LIVE
                ? op(f, NONE, Rule.KEEP_LIVE, ConflictKind.NOT_SCANNED, policy, r, 0, null)
                : op(f, ASK, Rule.ASK, ConflictKind.NOT_SCANNED, policy, null, 0, null);
        return new Op(o.path(), o.action(), o.rule(), o.conflict(), o.policy(), o.resolution(), 0, null, f, reason, null);
    }

    /**
     * Both sides changed the same metadata field (mode, owner, group, one xattr) to different values:
     * a merge of the contents would have to drop one of them without a word.
     */
    static boolean metadataClash(Entry b, Entry l, Entry s) {
        if (b == null || l == null || s == null) return false;
        if (clash(b.mode(), l.mode(), s.mode()) || clash(b.uid(), l.uid(), s.uid()) || clash(b.gid(), l.gid(), s.gid())) return true;
        Set<String> keys = new TreeSet<>(b.xattrs().keySet());
        keys.addAll(l.xattrs().keySet());
        keys.addAll(s.xattrs().keySet());
        for (String k : keys) {
            String bv = b.xattrs().get(k), lv = l.xattrs().get(k), sv = s.xattrs().get(k);
            if (!Objects.equals(lv, bv) && !Objects.equals(sv, bv) && !Objects.equals(lv, sv)) return true;
        }
        return false;
    }

    private static boolean clash(int base, int live, int shadow) {
        return live != base && shadow != base && live != shadow;
    }

    private static boolean removesLiveDirectory(Op o) {
        return o.live() != null && o.live().type() == FileType.DIR && afterType(o) != FileType.DIR;
    }

    /** The operation writes into its live parent directory (or, for a conflict, one of its choices would). */
    private static boolean writesUnder(Op o) {
        return switch (o.action()) {
            case WRITE, META, MERGE3, HYBRID -> true;
            case ASK -> o.shadow() != null;
            default -> false;
        };
    }

    /** The type of the live entry once the operation ran (null: absent; ASK: as it is now). */
    static FileType afterType(Op o) {
        return switch (o.action()) {
            case DELETE -> null;
            case WRITE -> o.shadow().type();
            case HYBRID -> FileType.SYMLINK;
            default -> o.live() == null ? null : o.live().type();
        };
    }

    private static boolean liveKeepsEntriesUnder(TreeMap<String, Op> ops, String dir) {
        if (ops.get(dir).facts().liveDirAdditions()) return true;
        for (Op c : ops.subMap(dir + "/", dir + "0").values()) if (afterType(c) != null) return true;
        return false;
    }

    /** Whether dir will be a directory in the live tree (facts: of a path in dir, for a dir the plan does not touch). */
    private static boolean liveDirectoryAfter(TreeMap<String, Op> ops, String dir, PathFacts child) {
        if (dir.isEmpty()) return true;
        Op o = ops.get(dir);
        if (o == null) return !child.liveParentMissing();
        if (afterType(o) != FileType.DIR) return false;
        return (o.live() != null && o.live().type() == FileType.DIR) || liveDirectoryAfter(ops, RelPath.parent(dir), o.facts());
    }

    private static Op nearestAncestorIn(TreeMap<String, Op> ops, String p) {
        for (String a = RelPath.parent(p); !a.isEmpty(); a = RelPath.parent(a)) {
            Op o = ops.get(a);
            if (o != null && afterType(o) != FileType.DIR) return o;
        }
        return null;
    }

    private static Op takeShadow(PathFacts f, ConflictKind kind, Decision pol, Decision r) {
        Entry s = f.shadow();
        return s == null ? op(f, DELETE, Rule.TAKE_SHADOW, kind, pol, r, 0, null)
                : op(f, WRITE, Rule.TAKE_SHADOW, kind, pol, r, bytes(s), null);
    }

    /** The live name is already rule 4's link to the copy of this shadow version (a re-run after a hybrid copy). */
    static boolean hybridDone(PathFacts f) {
        Entry l = f.live(), s = f.shadow();
        return l != null && s != null && l.type() == FileType.SYMLINK && s.type() != FileType.DIR
                && (RelPath.name(f.path()) + ".sp-shadow-" + s.ino()).equals(l.target());
    }

    /** Rule 4 keeps both versions under new names and points the name at the shadow's: both must be non-directories. */
    static boolean hybridPossible(Entry l, Entry s) {
        return l != null && s != null && l.type() != FileType.DIR && s.type() != FileType.DIR;
    }

    private static boolean isFile(Entry e) {
        return e != null && e.type() == FileType.FILE;
    }

    private static long bytes(Entry s) {
        return s != null && s.type() == FileType.FILE ? s.size() : 0;
    }

    private static Op op(PathFacts f, Op.Action a, Rule rule, ConflictKind conflict, Decision policy, Decision r,
                         long bytes, String mergedSha) {
        return new Op(f.path(), a, rule, conflict, policy, r, bytes, mergedSha, f, null, null);
    }
}
