package dev.shadowpatch.workflow;

/** Process keys, message names and BPMN error codes shared by the BPMN files and the Java code. */
public final class ProcessKeys {
    private ProcessKeys() {}

    public static final String SHADOW_PATCHING = "shadow-patching";
    public static final String MAINTENANCE_WINDOW = "maintenance-window";

    public static final String MESSAGE_WINDOW_OPENED = "maintenance-window-opened";

    /** Approval without a decision for every conflict the operator must settle. */
    public static final String ERROR_CONFLICTS_UNRESOLVED = "CONFLICTS_UNRESOLVED";
    /** Anything in the window that means the live VM must go back to its previous disk. */
    public static final String ERROR_ROLLBACK_REQUIRED = "ROLLBACK_REQUIRED";
    /** An in-window step reached without an entry through the window's door (e.g. a process-instance modification). */
    public static final String ERROR_WINDOW_NOT_ENTERED = "WINDOW_NOT_ENTERED";
    /** A campaign's run whose start was refused by the request check: the campaign records it and goes on. */
    public static final String ERROR_REQUEST_REFUSED = "REQUEST_REFUSED";

    public static final String GROUP_OPERATORS = "operators";
    public static final String GROUP_AUDITORS = "auditors";
}
