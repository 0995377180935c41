package dev.shadowpatch.restart;

/** The restart a patch needs on the live VM, found in the shadow (issue 16, part 2). */
public enum RestartClass {
    /** Nothing running uses what the patch changed (documentation, data files, tools not running). */
    NONE("none"),
    /** Only some service units run code the patch replaced: restarting them is enough. */
    SERVICES("services"),
    /** The kernel, or code PID 1 or the system bus runs, changed: only a reboot replaces it. */
    SYSTEM("system");

    private final String word;

    RestartClass(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    /** The class a word names; null for "unknown" or anything else. */
    public static RestartClass ofWord(Object word) {
        for (RestartClass c : values()) {
            if (c.word.equals(word == null ? null : word.toString())) {
                return c;
            }
        }
        return null;
    }
}
