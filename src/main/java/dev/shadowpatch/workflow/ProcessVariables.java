package dev.shadowpatch.workflow;

/**
 * Names of process variables, one place for all of them. Values are small: large artefacts
 * (command output, merge plans, reports) are stored as file variables (bytes referenced from the
 * variable), never as huge strings. No secret is ever stored in a variable.
 */
public final class ProcessVariables {
    private ProcessVariables() {}

    // Request (start form / REST)
    public static final String LIVE_VM = "liveVm";
    public static final String PATCH_COMMAND = "patchCommand";
    public static final String TEST_COMMAND = "testCommand";
    /** Optional; defaults to the test command. Runs in the live VM after the merge. */
    public static final String VERIFY_COMMAND = "verifyCommand";
    /** Optional: a directory under shadowpatch.run.bundle-root sent to the shadow before the patch command. */
    public static final String PATCH_BUNDLE = "patchBundle";
    /** Optional explicit window (ISO-8601 instants); otherwise the configured window calendar decides. */
    public static final String REQUESTED_WINDOW_START = "windowStart";
    public static final String REQUESTED_WINDOW_END = "windowEnd";
    public static final String STARTED_BY = "startedBy";
    /** Optional: the named window calendar (shadowpatch.windows.NAME); absent: the default calendar. */
    public static final String WINDOW_NAME = "windowName";
    /** Optional: the inventory host whose hypervisor runs the live VM; absent: shadowpatch.libvirt.uri. */
    public static final String HYPERVISOR_HOST = "hypervisorHost";
    /**
     * Optional: where the live VM answers when neither its guest agent nor a DHCP lease tells (a
     * bridged or static VM without agent); an IP address or host name. A campaign passes the
     * inventory's {@code address}. Used only after the other sources had their look.
     */
    public static final String CONFIGURED_LIVE_ADDRESS = "configuredLiveAddress";
    /** Set when the run belongs to a campaign: the campaign's process instance id. */
    public static final String CAMPAIGN_ID = "campaignId";

    /** The live VM's file systems from its /etc/fstab (a JSON file), and one readable line per entry. */
    public static final String GUEST_LAYOUT = "guestLayout";
    public static final String GUEST_LAYOUT_SUMMARY = "guestLayoutSummary";
    /** What the shadow wrote outside every merged file system (null: nothing), shown to the approver. */
    public static final String UNMERGED_WRITES = "unmergedWrites";
    /**
     * The shadow's boot loader install the window copies to the live disk after its files (null: none),
     * shown to the approver, and the disks it is on (space-separated targets).
     */
    public static final String BOOT_LOADER = "bootLoader";
    public static final String BOOT_LOADER_DISKS = "bootLoaderDisks";

    // Shadow
    public static final String SHADOW_CLONE = "shadowClone";
    public static final String SHADOW_VM = "shadowVm";
    /** What the shadow does not get of what the live VM shares (devices, host directories), or null: nothing. */
    public static final String SHADOW_CUT_OFF = "shadowCutOff";
    public static final String SHADOW_ADDRESS = "shadowAddress";
    /** Which source gave {@code shadowAddress}: a {@link dev.shadowpatch.virt.VmAddress.Source#word}. */
    public static final String SHADOW_ADDRESS_SOURCE = "shadowAddressSource";
    /** When the shadow was (re)started, and whether it has an address yet (false: the poll timer looks again). */
    public static final String SHADOW_STARTED_AT = "shadowStartedAt";
    public static final String SHADOW_UP = "shadowUp";

    // Evidence
    public static final String PATCH_SUCCEEDED = "patchSucceeded";
    public static final String PATCH_EXIT_CODE = "patchExitCode";
    public static final String PATCH_OUTPUT = "patchOutput";
    public static final String TESTS_PASSED = "testsPassed";
    public static final String TEST_EXIT_CODE = "testExitCode";
    public static final String TEST_OUTPUT = "testOutput";
    public static final String TEST_ATTEMPTS = "testAttempts";
    /** Whether the detached patch / test command has ended (false: the poll timer looks again). */
    public static final String PATCH_DONE = "patchDone";
    public static final String TEST_DONE = "testDone";
    /** The shadow's dpkg database before the patch (a file: one tab-separated line per package). */
    public static final String PACKAGES_BEFORE = "packagesBefore";
    /**
     * What the patch changed in the shadow's packages, with the CVE/DSA/DLA ids of each upgrade, or
     * "unknown" with the reason ({@link dev.shadowpatch.evidence.PackageReport} as a JSON file); its
     * summary in words; and the approval form's table rows (JSON, bounded).
     */
    public static final String PACKAGE_CHANGES = "packageChanges";
    public static final String PACKAGE_CHANGES_SUMMARY = "packageChangesSummary";
    public static final String PACKAGE_CHANGES_ROWS = "packageChangesRows";
    /** What the shadow ran before the patch: each unit's mapped files with their identity ({@link dev.shadowpatch.restart.RunningCode}, a file). */
    public static final String RUNNING_CODE_BEFORE = "runningCodeBefore";
    /** The restart the patch needs on the live VM ({@link dev.shadowpatch.restart.RestartNeed} as JSON, a file). */
    public static final String RESTART_NEED = "restartNeed";
    /** Its class as a {@link dev.shadowpatch.restart.RestartClass#word}: none, services, system, or unknown. */
    public static final String RESTART_CLASS = "restartClass";
    public static final String RESTART_SUMMARY = "restartSummary";
    /** How long the needed restart took in the shadow (units restarted, or the shadow's boot to an address). */
    public static final String RESTART_SECONDS = "restartSeconds";
    /** The shadow's boot, from its start to its address, in seconds. */
    public static final String SHADOW_BOOT_SECONDS = "shadowBootSeconds";

    /**
     * How the shadow went off before its plan ({@link dev.shadowpatch.virt.PowerOff} word: clean, forced,
     * already-off) and, unless clean, what that means for the merge, in words for the approver.
     */
    public static final String SHADOW_SHUTDOWN = "shadowShutdown";
    public static final String SHADOW_SHUTDOWN_NOTE = "shadowShutdownNote";
    /**
     * The shadow's change capture (ops/guest-agent): capturing, stopped or skipped, and why it was
     * skipped or could not be stopped. The scan decides either way: the log only makes it faster.
     */
    public static final String CHANGE_CAPTURE = "changeCapture";
    public static final String CHANGE_CAPTURE_NOTE = "changeCaptureNote";

    // Fix-the-shadow decision
    public static final String FIX_DECISION = "fixDecision";

    // Merge plan
    public static final String MERGE_PLAN = "mergePlan";
    public static final String MERGE_PLAN_SUMMARY = "mergePlanSummary";
    public static final String CONFLICT_COUNT = "conflictCount";
    /** Shutdown + merge + boot, rounded up: the total of {@link #PREDICTED_DOWNTIME_PARTS} (the window's door reads it). */
    public static final String PREDICTED_DOWNTIME_SECONDS = "predictedDowntimeSeconds";
    /**
     * The prediction part by part with where each came from (JSON string: {@link DowntimeForecast.Forecast}):
     * this VM's measured history, the shadow's boot, the plan or the defaults; in the form and /api/runs.
     */
    public static final String PREDICTED_DOWNTIME_PARTS = "predictedDowntimeParts";
    /** The same in words, e.g. "shutdown 7.0 s (median of 3 earlier runs of web-01), merge ..., boot ...". */
    public static final String PREDICTED_DOWNTIME_SUMMARY = "predictedDowntimeSummary";
    /** The plan's size (bytes to copy, operations): what a later run's merge estimate is corrected against. */
    public static final String MERGE_PLAN_BYTES = "mergePlanBytes";
    public static final String MERGE_PLAN_OPERATIONS = "mergePlanOperations";
    /**
     * The approval form's rows of the unresolved conflicts (file, JSON: {@link dev.shadowpatch.merge.ConflictRows}):
     * each side's change, the bounded diff, the choices and the one preselected. Written when the plan is computed.
     */
    public static final String CONFLICT_ROWS = "conflictRows";
    /** The plan by directory with the paths it leaves out (file, JSON: {@link PlanByDirectory}); in /api/runs too. */
    public static final String PLAN_BY_DIRECTORY = "planByDirectory";

    // Approval
    /**
     * Whether the window may merge inside the running live VM ({@link dev.shadowpatch.online.OnlinePlan}:
     * the restart class, the packages and the plan allow it; conflicts still to decide in the form
     * do not count), and if not, why, in words.
     */
    public static final String ONLINE_MERGE_OFFERED = "onlineMergeOffered";
    public static final String ONLINE_MERGE_BLOCKERS = "onlineMergeBlockers";
    /** The operator's choice in the approval ({@link MergeMode#formValue}; none: reboot). */
    public static final String MERGE_MODE = "mergeMode";
    /** The mode the window took ({@link MergeMode#formValue}), and why an online merge fell back to the reboot. */
    public static final String MERGE_MODE_RAN = "mergeModeRan";
    public static final String ONLINE_FALLBACK = "onlineFallback";
    /** Whether the online merge is staged in the live VM (the gateway after the stage reads it). */
    public static final String ONLINE_STAGED = "onlineStaged";
    /** The units the online merge stops and restarts: the shadow's finding and the live VM's own, by name. */
    public static final String ONLINE_RESTART_UNITS = "onlineRestartUnits";
    public static final String APPROVAL_DECISION = "approvalDecision";
    public static final String APPROVAL_COMMENT = "approvalComment";
    public static final String CONFLICT_RESOLUTIONS = "conflictResolutions";
    /** Decision for every conflict the resolutions do not name (keep-live | take-shadow | hybrid), optional. */
    public static final String CONFLICT_FALLBACK = "conflictFallback";
    public static final String APPROVAL_PROBLEM = "approvalProblem";
    public static final String APPROVED_BY = "approvedBy";
    public static final String APPROVED_AT = "approvedAt";

    // Maintenance window
    public static final String WINDOW_OPENS_AT = "windowOpensAt";
    public static final String WINDOW_CLOSES_AT = "windowClosesAt";
    public static final String WINDOW_DEADLINE = "windowDeadline";
    public static final String WINDOW_RESCHEDULES = "windowReschedules";
    /** The window door's last decision ({@link WindowDoor.Decision} name) and its reason in words. */
    public static final String WINDOW_DOOR = "windowDoor";
    public static final String WINDOW_DOOR_REASON = "windowDoorReason";

    // In the window
    public static final String LIVE_DOWN_AT = "liveDownAt";
    /** How the live VM went off in the window ({@link dev.shadowpatch.virt.PowerOff} word), for the audit. */
    public static final String LIVE_SHUTDOWN = "liveShutdown";
    public static final String SERVICE_VERIFIED_AT = "serviceVerifiedAt";
    public static final String DOWNTIME_SECONDS = "downtimeSeconds";
    public static final String MERGE_REPORT = "mergeReport";
    public static final String MERGE_RULE_COUNTS = "mergeRuleCounts";
    public static final String VERIFY_OUTPUT = "verifyOutput";
    public static final String LIVE_STARTED_AT = "liveStartedAt";
    public static final String LIVE_ADDRESS = "liveAddress";
    /** Which source gave {@code liveAddress} (guest-agent, dhcp-lease, configured), for the auditor. */
    public static final String LIVE_ADDRESS_SOURCE = "liveAddressSource";
    /** Whether the verification passed (false: the poll timer looks again). */
    public static final String LIVE_VERIFIED = "liveVerified";

    // Rollback
    public static final String ROLLBACK_REASON = "rollbackReason";
    public static final String ROLLBACK_DECISION = "rollbackDecision";
    /** When the rolled-back live VM was running on its previous disk again (its service not verified). */
    public static final String ROLLED_BACK_AT = "rolledBackAt";
    public static final String OUTCOME = "outcome";
    /** Why a campaign's run was refused at its start (its outcome is then {@link RunOutcome#REFUSED}). */
    public static final String REQUEST_REFUSAL = "requestRefusal";
}
