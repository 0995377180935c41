package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Map;
import java.util.TreeMap;

/**
 * The rule that decided a path's operation. Identity is the constant; {@link #word} is only what
 * plans, reports and the operator read (and what the JSON of a plan holds, parsed back here).
 */
public enum Rule {
    /** live unchanged, shadow deleted it (paper rule 1) */
    TAKE_SHADOW_DELETE("take-shadow-delete (rule 1)"),
    /** live unchanged (absent), shadow created it (paper rule 2) */
    TAKE_SHADOW_CREATE("take-shadow-create (rule 2)"),
    /** live unchanged, shadow replaced its content (paper rule 3) */
    TAKE_SHADOW_REPLACE("take-shadow-replace (rule 3)"),
    /** both changed; both versions kept, the name points to the shadow's (paper rule 4) */
    HYBRID("hybrid (rule 4)"),
    METADATA_ONLY("metadata-only"),
    TYPE_CHANGE("type-change"),
    SAME_CHANGE("same-change"),
    BOTH_DELETED("both-deleted"),
    THREE_WAY_MERGED("three-way-merged"),
    KEEP_LIVE("keep-live"),
    TAKE_SHADOW("take-shadow (conflict)"),
    ASK("ask (unresolved conflict)"),
    EXCLUDED("excluded"),
    HYBRID_DONE("hybrid done (rule 4)"),
    UNCHANGED("unchanged in shadow"),
    /** the shadow removed (or replaced) a directory in which the live VM keeps entries: the directory stays */
    KEPT_FOR_LIVE_ENTRIES("kept: the live VM keeps entries in it"),
    /** the shadow's entry lies under a live ancestor the plan keeps as a non-directory: not taken */
    UNDER_KEPT_LIVE("not taken: its live parent is kept");

    private final String word;

    Rule(String word) { this.word = word; }

    @JsonValue
    public String word() { return word; }

    @JsonCreator
    public static Rule parse(String word) {
        for (Rule r : values()) if (r.word.equals(word)) return r;
        throw new IllegalArgumentException("unknown rule '" + word + "'");
    }

    /** The same counts keyed by display words, in word order. */
    public static Map<String, Long> words(Map<Rule, Long> counts) {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((r, n) -> out.put(r.word, n));
        return out;
    }

    @Override
    public String toString() { return word; }
}
