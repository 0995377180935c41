package dev.shadowpatch.merge;

import dev.shadowpatch.merge.MergePolicy.Action;
import dev.shadowpatch.merge.fs.FileType;

import java.util.Optional;

import static dev.shadowpatch.merge.Op.Action.*;

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

    public static Op decide(PathFacts f, Action policy, Resolution resolution, TextMerger merger) {
        Entry b = f.base(), l = f.live(), s = f.shadow();
        String pol = policy.word;
        if (policy == Action.EXCLUDE) return op(f, NONE, Op.EXCLUDED, null, pol, null, 0, null);
        if (PathFacts.sameOrBothAbsent(b, s, f.shadowContentSame()))
            return op(f, NONE, Op.UNCHANGED, null, pol, null, 0, null);
        if (f.liveSameAsShadow())
            return op(f, NONE, s == null ? Op.BOTH_DELETED : Op.SAME_CHANGE, null, pol, null, 0, null);
        if (hybridDone(f))
            return op(f, NONE, Op.HYBRID_DONE, null, pol, null, 0, null);
        if (!f.liveChanged()) {
            // live is still the base version: the shadow's change is taken (paper rules 1-3)
            if (s == null) return op(f, DELETE, Op.RULE1, null, pol, null, 0, null);
            if (b == null) return op(f, WRITE, Op.RULE2, null, pol, null, bytes(s), null);
            if (b.type() != s.type()) return op(f, WRITE, Op.TYPE_CHANGE, null, pol, null, bytes(s), null);
            if (f.shadowContentSame()) return op(f, META, Op.METADATA_ONLY, null, pol, null, 0, null);
            return op(f, WRITE, Op.RULE3, null, pol, null, bytes(s), null);
        }
        String kind = b == null ? "both-created" : s == null ? "delete-modify" : l == null ? "modify-delete" : "both-modified";
        if (resolution != null) {
            return switch (resolution) {
                case KEEP_LIVE -> op(f, NONE, Op.KEEP_LIVE, kind, pol, resolution, 0, null);
                case TAKE_SHADOW -> takeShadow(f, kind, pol, resolution);
                case HYBRID -> hybridPossible(l, s) ? op(f, HYBRID, Op.RULE4, kind, pol, resolution, bytes(s), null)
                        : op(f, ASK, Op.ASK, kind, pol, null, 0, null);
            };
        }
        return switch (policy) {
            case KEEP_LIVE -> op(f, NONE, Op.KEEP_LIVE, kind, pol, null, 0, null);
            case TAKE_SHADOW -> takeShadow(f, kind, pol, null);
            case HYBRID -> hybridPossible(l, s) ? op(f, HYBRID, Op.RULE4, kind, pol, null, bytes(s), null)
                    : op(f, ASK, Op.ASK, kind, pol, null, 0, null);
            case THREE_WAY -> {
                if (isFile(l) && isFile(s) && (b == null || isFile(b))) {
                    Optional<Merged> m = merger.merge(f);
                    if (m.isPresent())
                        yield op(f, MERGE3, Op.THREE_WAY_MERGED, kind, pol, null, m.get().size(), m.get().sha256());
                }
                yield op(f, ASK, Op.ASK, kind, pol, null, 0, null);
            }
            default -> op(f, ASK, Op.ASK, kind, pol, null, 0, null);
        };
    }

    private static Op takeShadow(PathFacts f, String kind, String pol, Resolution r) {
        Entry s = f.shadow();
        return s == null ? op(f, DELETE, Op.TAKE_SHADOW, kind, pol, r, 0, null)
                : op(f, WRITE, Op.TAKE_SHADOW, kind, pol, r, bytes(s), null);
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

    private static Op op(PathFacts f, Op.Action a, String rule, String conflict, String policy, Resolution r,
                         long bytes, String mergedSha) {
        return new Op(f.path(), a, rule, conflict, policy, r, bytes, mergedSha, f);
    }
}
