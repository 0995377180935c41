package dev.shadowpatch.merge;

/**
 * Everything the planner needs to decide one path: its three versions (null = absent) and the
 * comparisons the detector settled (content equality may need hashes, which the pure planner cannot read).
 *
 * @param liveChanged        live differs from base (for a directory the shadow removes: also when
 *                           the live directory holds names the base did not have)
 * @param liveSameAsShadow   live and shadow are the same version (both absent counts as same)
 * @param shadowContentSame  base and shadow have the same type and content (only metadata changed)
 * @param liveDirAdditions   live directory has names that are not in the base directory
 * @param liveParentMissing  the live tree has no directory at the path's parent (the live VM removed
 *                           it or replaced it with a non-directory), so nothing can be written there
 */
public record PathFacts(String path, Entry base, Entry live, Entry shadow,
                        boolean liveChanged, boolean liveSameAsShadow, boolean shadowContentSame,
                        boolean liveDirAdditions, boolean liveParentMissing) {

    /** Facts derived from entries whose hashes are filled in (tests, and replays of a plan). */
    public static PathFacts fromEntries(String path, Entry b, Entry l, Entry s, boolean liveDirAdditions) {
        return fromEntries(path, b, l, s, liveDirAdditions, false);
    }

    public static PathFacts fromEntries(String path, Entry b, Entry l, Entry s, boolean liveDirAdditions,
                                        boolean liveParentMissing) {
        return new PathFacts(path, b, l, s,
                !same(b, l) || liveDirAdditions, same(l, s),
                b != null && s != null && b.sameContentByHash(s), liveDirAdditions, liveParentMissing);
    }

    /** base and shadow are the same version (a path planned before but no longer changed in the shadow). */
    static boolean sameOrBothAbsent(Entry b, Entry s, boolean contentSame) {
        if (b == null || s == null) return b == s;
        return contentSame && b.sameMetadata(s);
    }

    static boolean same(Entry a, Entry b) {
        if (a == null || b == null) return a == b;
        return a.sameMetadata(b) && a.sameContentByHash(b);
    }
}
