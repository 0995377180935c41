package dev.shadowpatch.workflow;

/**
 * How a run of one VM ended. The process's end tasks name the constant ({@code cleanupOutcome});
 * the run's {@code outcome} variable, the audit and the campaign report show {@link #words}.
 * Identity is the constant: code compares constants, never the display text.
 */
public enum RunOutcome {
    /** Merged, booted and verified in its window. */
    PATCHED("patched"),
    /** Merged but rolled back to its previous disk (failure, failed verification, window closing). */
    ROLLED_BACK("rolled back"),
    /** An operator rejected the patch; the live VM was never touched. */
    REJECTED("rejected"),
    /** An operator gave up on a failing patch or test in the shadow. */
    ABANDONED("abandoned"),
    /** The run could not go on (e.g. its shadow never came up); the live VM was never taken down. */
    FAILED("failed"),
    /** A campaign's run whose request was refused at its start (e.g. another run holds the VM); nothing was created. */
    REFUSED("refused");

    public final String words;

    RunOutcome(String words) {
        this.words = words;
    }

    /** The outcome whose words a variable holds; null for null (a run still going). */
    public static RunOutcome ofWords(Object words) {
        if (words == null) {
            return null;
        }
        for (RunOutcome o : values()) {
            if (o.words.equals(words.toString())) {
                return o;
            }
        }
        throw new IllegalArgumentException("'" + words + "' is not a run outcome");
    }
}
