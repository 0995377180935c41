package dev.shadowpatch.merge;

import java.util.List;

/**
 * A path both sides changed differently that the policy left to an operator, with its three
 * versions, the resolutions that can execute (not every conflict offers all three) and, where the
 * kind alone does not say it, why (note).
 */
public record Conflict(String path, ConflictKind kind, Decision policy, Entry base, Entry live, Entry shadow,
                       List<Decision> choices, String note) {
    public Conflict {
        choices = List.copyOf(choices);
    }

    public String describe() {
        return "/" + path + "  [" + kind + (note == null ? "" : ": " + note) + ", policy " + policy + ", choices "
                + String.join("|", choices.stream().map(Decision::word).toList()) + "]\n"
                + "    base:   " + (base == null ? "(absent)" : base.describe()) + "\n"
                + "    live:   " + (live == null ? "(absent)" : live.describe()) + "\n"
                + "    shadow: " + (shadow == null ? "(absent)" : shadow.describe());
    }
}
