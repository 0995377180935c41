package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How a conflict is settled: by a path's policy (all six) or by an operator's resolution (keep-live,
 * take-shadow, hybrid, three-way where the conflict offers a clean line merge). Identity is the
 * constant; {@link #word} is what policy files, plans and the operator read and write; {@link #label}
 * is what the approval form shows for a choice.
 */
public enum Decision {
    /** line merge of text files (diff3); a clean merge is taken, else ask */
    THREE_WAY("three-way", "line merge: both sides' changes (diff3 merges it cleanly)"),
    KEEP_LIVE("keep-live", "keep the live VM's version"),
    TAKE_SHADOW("take-shadow", "take the shadow's (patched) version"),
    /** paper rule 4: keep both versions, the name points to the shadow's */
    HYBRID("hybrid", "hybrid: keep both, the name points to the shadow's"),
    /** an operator decides before the window */
    ASK("ask", "ask an operator"),
    /** never scanned, never touched */
    EXCLUDE("exclude", "never touched");

    private final String word;
    private final String label;

    Decision(String word, String label) { this.word = word; this.label = label; }

    @JsonValue
    public String word() { return word; }

    /** The decision in words, as a choice an operator reads. */
    public String label() { return label; }

    /** Whether an operator can settle a conflict with it (three-way only where the conflict offers it). */
    public boolean isResolution() {
        return this == KEEP_LIVE || this == TAKE_SHADOW || this == HYBRID || this == THREE_WAY;
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
            throw new IllegalArgumentException("resolution must be keep-live, take-shadow, hybrid or three-way: " + w);
        return d;
    }

    @Override
    public String toString() { return word; }
}
