package dev.shadowpatch.merge;

/** An operator's decision on an 'ask' conflict. */
public enum Resolution {
    KEEP_LIVE("keep-live"), TAKE_SHADOW("take-shadow"), HYBRID("hybrid");

    private final String word;

    Resolution(String word) { this.word = word; }

    public String word() { return word; }

    public static Resolution parse(String w) {
        for (Resolution r : values()) if (r.word.equals(w)) return r;
        throw new IllegalArgumentException("resolution must be keep-live, take-shadow or hybrid: " + w);
    }
}
