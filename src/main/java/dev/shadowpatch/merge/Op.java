package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One planned operation on one path of the live tree, with the rule that decided it.
 *
 * @param conflict     null, or the kind of conflict (both-modified, both-created, delete-modify, modify-delete)
 * @param policy       the policy action the path's glob rule gave (for conflicts)
 * @param resolution   an operator's decision, if any
 * @param bytes        bytes this operation writes (file content copied or merged)
 * @param mergedSha256 for MERGE3: hash of the clean three-way merge the plan was approved with
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Op(String path, Action action, String rule, String conflict, String policy, Resolution resolution,
                 long bytes, String mergedSha256, PathFacts facts) {

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

    public static final String RULE1 = "take-shadow-delete (rule 1)";
    public static final String RULE2 = "take-shadow-create (rule 2)";
    public static final String RULE3 = "take-shadow-replace (rule 3)";
    public static final String RULE4 = "hybrid (rule 4)";
    public static final String METADATA_ONLY = "metadata-only";
    public static final String TYPE_CHANGE = "type-change";
    public static final String SAME_CHANGE = "same-change";
    public static final String BOTH_DELETED = "both-deleted";
    public static final String THREE_WAY_MERGED = "three-way-merged";
    public static final String KEEP_LIVE = "keep-live";
    public static final String TAKE_SHADOW = "take-shadow (conflict)";
    public static final String ASK = "ask (unresolved conflict)";
    public static final String EXCLUDED = "excluded";
    public static final String HYBRID_DONE = "hybrid done (rule 4)";
    public static final String UNCHANGED = "unchanged in shadow";

    public Entry base() { return facts.base(); }
    public Entry live() { return facts.live(); }
    public Entry shadow() { return facts.shadow(); }
}
