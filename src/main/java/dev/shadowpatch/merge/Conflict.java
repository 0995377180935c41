package dev.shadowpatch.merge;

/** A path both sides changed differently that the policy left to an operator, with its three versions. */
public record Conflict(String path, String kind, String policy, Entry base, Entry live, Entry shadow) {
    public String describe() {
        return "/" + path + "  [" + kind + ", policy " + policy + "]\n"
                + "    base:   " + (base == null ? "(absent)" : base.describe()) + "\n"
                + "    live:   " + (live == null ? "(absent)" : live.describe()) + "\n"
                + "    shadow: " + (shadow == null ? "(absent)" : shadow.describe());
    }
}
