package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How a conflict is settled: by a path's policy (all six) or by an operator's resolution (keep-live,
 * take-shadow, hybrid). Identity is the constant; {@link #word} is what policy files, plans and the
 * operator read and write.
 */
public enum Decision {
    /** line merge of text files (diff3); a clean merge is taken, else ask */
    THREE_WAY("three-way"),
    KEEP_LIVE("keep-live"),
    TAKE_SHADOW("take-shadow"),
    /** paper rule 4: keep both versions, the name points to the shadow's */
    HYBRID("hybrid"),
    /** an operator decides before the window */
    ASK("ask"),
    /** never scanned, never touched */
    EXCLUDE("exclude");

    private final String word;

    Decision(String word) { this.word = word; }

    @JsonValue
    public String word() { return word; }

    /** Whether an operator can settle a conflict with it. */
    public boolean isResolution() {
        return this == KEEP_LIVE || this == TAKE_SHADOW || this == HYBRID;
    }

    /** A decision from its word (plans written before this enum held resolutions by constant name: accepted too). */
    @JsonCreator
    public static Decision parse(String w) {
        for (Decision d : values()) if (d.word.equals(w) || d.name().equals(w)) return d;
        throw new IllegalArgumentException("unknown decision '" + w + "' (three-way|keep-live|take-shadow|hybrid|ask|exclude)");
    }

    /** An operator's resolution from its word. */
    public static Decision parseResolution(String w) {
        Decision d;
        try {
            d = parse(w);
        } catch (IllegalArgumentException e) {
            d = null;
        }
        if (d == null || !d.isResolution())
            throw new IllegalArgumentException("resolution must be keep-live, take-shadow or hybrid: " + w);
        return d;
    }

    @Override
    public String toString() { return word; }
}
