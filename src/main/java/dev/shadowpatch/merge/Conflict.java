package dev.shadowpatch.merge;

import java.util.List;

/**
 * A path both sides changed differently that the policy left to an operator, with its three
 * versions and the resolutions that can execute (not every conflict offers all three).
 */
public record Conflict(String path, String kind, String policy, Entry base, Entry live, Entry shadow,
                       List<Resolution> choices) {
    public Conflict {
        choices = List.copyOf(choices);
    }

    public String describe() {
        return "/" + path + "  [" + kind + ", policy " + policy + ", choices "
                + String.join("|", choices.stream().map(Resolution::word).toList()) + "]\n"
                + "    base:   " + (base == null ? "(absent)" : base.describe()) + "\n"
                + "    live:   " + (live == null ? "(absent)" : live.describe()) + "\n"
                + "    shadow: " + (shadow == null ? "(absent)" : shadow.describe());
    }
}
