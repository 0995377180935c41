package dev.shadowpatch.campaign;

/** Variable, message and activity names of processes/patch-campaign.bpmn, one place for all. */
public final class CampaignVariables {
    private CampaignVariables() {}

    public static final String PROCESS_KEY = "patch-campaign";

    // Request (start form, REST, or the scheduled campaign's configuration)
    public static final String NAME = "campaignName";
    /** VM names from the inventory, separated by commas, spaces or new lines. */
    public static final String VMS = "vms";
    /** Group names from the inventory: all their VMs. */
    public static final String GROUPS = "groups";
    public static final String CANARY_VMS = "canaryVms";
    public static final String CANARY_GROUP = "canaryGroup";
    /** A number or a percentage ("10%") of the campaign's VMs. */
    public static final String MAX_CONCURRENCY = "maxConcurrency";
    /** A number or a percentage of each host's VMs in the campaign. */
    public static final String MAX_PER_HOST = "maxPerHost";
    /** No new VM starts once this many (or this percentage) have failed. */
    public static final String MAX_FAILURES = "maxFailures";

    // State of the campaign (process instance variables)
    public static final String PLAN = "campaignPlan";
    public static final String LEDGER = "slotLedger";
    public static final String DECISION = "campaignDecision";
    public static final String APPROVED_BY = "campaignApprovedBy";
    public static final String APPROVED_AT = "campaignApprovedAt";
    public static final String DECIDED_BY = "campaignDecidedBy";
    public static final String END_REASON = "campaignEndReason";
    public static final String OUTCOME = "campaignOutcome";

    // One VM's branch (local to its subprocess instance)
    public static final String VM = "vm";
    public static final String SLOT_VM = "slotVm";
    public static final String VM_HOST = "vmHost";
    public static final String VM_GROUP = "vmGroup";
    public static final String VM_WINDOW = "vmWindow";
    /** The inventory's address of the VM (or null), handed to its run as {@code configuredLiveAddress}. */
    public static final String VM_ADDRESS = "vmAddress";
    public static final String SLOT_DECISION = "slotDecision";
    public static final String RUN_OUTCOME = "runOutcome";

    // In a child run: whether the campaign's decision was already there when its plan was ready
    public static final String CAMPAIGN_DECIDED = "campaignDecided";

    public static final String MESSAGE_SLOT = "campaign-slot";
    public static final String MESSAGE_DECIDED = "campaign-decided";
    public static final String MESSAGE_CANARY_FAILED = "campaign-canary-failed";

    public static final String CANARY_RUN_ACTIVITY = "canaryRunVm";
    public static final String REST_RUN_ACTIVITY = "restRunVm";
}
