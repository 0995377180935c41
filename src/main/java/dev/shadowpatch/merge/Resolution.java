package dev.shadowpatch.merge;

/** An operator's decision on an 'ask' conflict. */
public enum Resolution {
    KEEP_LIVE, TAKE_SHADOW, HYBRID;

    public static Resolution parse(String w) {
        return switch (w) {
            case "keep-live" -> KEEP_LIVE;
            case "take-shadow" -> TAKE_SHADOW;
            case "hybrid" -> HYBRID;
            default -> throw new IllegalArgumentException("resolution must be keep-live, take-shadow or hybrid: " + w);
        };
    }
}
