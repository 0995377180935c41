package dev.shadowpatch.evidence;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Where an upgrade's changelog was read in the shadow, or {@link #NONE} when no text was: a guest
 * whose dpkg excludes {@code /usr/share/doc} (minimized and container-derived images) has no installed
 * changelog, but the archive the patch installed still holds it. Identity is the constant; {@link #word}
 * is what the operator reads.
 */
public enum ChangelogSource {
    INSTALLED("installed changelog"),
    PATCH_BUNDLE("patch bundle's package archive"),
    APT_CACHE("apt cache's package archive"),
    NONE("none readable");

    private final String word;

    ChangelogSource(String word) { this.word = word; }

    /** Whether a text was read (its ids, or their absence, can be trusted as far as it goes). */
    public boolean read() {
        return this != NONE;
    }

    @JsonValue
    public String word() { return word; }

    @JsonCreator
    public static ChangelogSource parse(String w) {
        for (ChangelogSource s : values()) if (s.word.equals(w) || s.name().equals(w)) return s;
        throw new IllegalArgumentException("unknown changelog source '" + w + "'");
    }

    @Override
    public String toString() { return word; }
}
