package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One planned operation on one path of the live tree, with the rule that decided it.
 *
 * @param conflict     null, or the kind of conflict
 * @param policy       the policy action the path's glob rule gave (for conflicts)
 * @param resolution   an operator's decision, if any
 * @param bytes        bytes this operation writes (file content copied or merged)
 * @param mergedSha256 for MERGE3: hash of the clean three-way merge the plan was approved with
 * @param note         why, where the rule alone does not say it (a subtree not scanned: the reason)
 * @param lineMerge    for an unresolved conflict of text files: the clean three-way merge an operator
 *                     may choose (null: none); pinned in the plan, so the merge approved is the one offered
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Op(String path, Action action, Rule rule, ConflictKind conflict, Decision policy, Decision resolution,
                 long bytes, String mergedSha256, PathFacts facts, String note, Planner.Merged lineMerge) {

    public enum Action {
        /** nothing to write (same change, both deleted, keep live, excluded) */
        NONE,
        /** remove the live entry (for a directory: after its planned children) */
        DELETE,
        /** make the live entry a copy of the shadow's (create, replace, type change) */
        WRITE,
        /** same content and type: set mode, owner, xattrs (and times) from the shadow */
        META,
        /** write the clean three-way merge of live, base and shadow */
        MERGE3,
        /** paper rule 4: keep both versions, the name points to the shadow's */
        HYBRID,
        /** unresolved conflict: an operator must decide */
        ASK
    }


    public Entry base() { return facts.base(); }
    public Entry live() { return facts.live(); }
    public Entry shadow() { return facts.shadow(); }
}
