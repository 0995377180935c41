package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Why a path is a conflict. Identity is the constant; {@link #word} is what plans, reports and the
 * operator read (and what the JSON of a plan holds, parsed back here, as plans before this enum had it).
 */
public enum ConflictKind {
    /** absent in the base, created differently on both sides */
    BOTH_CREATED("both-created"),
    /** the shadow deleted what the live VM modified */
    DELETE_MODIFY("delete-modify"),
    /** the shadow modified what the live VM deleted */
    MODIFY_DELETE("modify-delete"),
    /** both sides changed it differently (content, type or the same metadata) */
    BOTH_MODIFIED("both-modified"),
    /** the shadow removes or retypes a directory the live VM keeps entries in */
    LIVE_KEEPS_ENTRIES("live-keeps-entries"),
    /** the shadow writes under a live path that is no directory (the live VM removed or replaced it) */
    LIVE_PARENT_NOT_DIRECTORY("live-parent-not-directory"),
    /** a subtree the detect stage could not compare (another file system, too deep, unreadable): nothing in it is merged */
    NOT_SCANNED("not-scanned");

    private final String word;

    ConflictKind(String word) { this.word = word; }

    @JsonValue
    public String word() { return word; }

    /** From its word (or its constant's name). */
    @JsonCreator
    public static ConflictKind parse(String w) {
        for (ConflictKind k : values()) if (k.word.equals(w) || k.name().equals(w)) return k;
        throw new IllegalArgumentException("unknown conflict kind '" + w + "'");
    }

    @Override
    public String toString() { return word; }
}
