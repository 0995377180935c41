package dev.shadowpatch.campaign;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The scheduled campaign ({@code shadowpatch.scheduled-campaign.*}): scheduled-campaign.bpmn's timer
 * start fires on {@code cycle} (six-field cron, like the window cycle) and starts this campaign.
 * Without a name nothing is scheduled: the timer then fires only on 29 February and starts nothing.
 */
public record CampaignSchedule(String name, String cycle, String vms, String groups, String patchCommand,
                               String testCommand, String verifyCommand, String canaryVms, String canaryGroup,
                               String maxConcurrency, String maxPerHost, String maxFailures) {
    /** Camunda 7.24's cron has no year field: the rarest six-field cycle (29 February), which then does nothing. */
    static final String UNSCHEDULED = "0 0 0 29 2 ?";

    public boolean configured() {
        return name != null && !name.isBlank();
    }

    /** Read by scheduled-campaign.bpmn's timer start event: {@code ${campaignSchedule.timerCycle()}}. */
    public String timerCycle() {
        if (!configured()) {
            return UNSCHEDULED;
        }
        if (cycle == null || cycle.isBlank()) {
            throw new IllegalStateException("shadowpatch.scheduled-campaign.cycle is required when a scheduled campaign is named");
        }
        return cycle;
    }

    /** The campaign request, as variables of the campaign process. */
    public Map<String, Object> request() {
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put(CampaignVariables.NAME, name);
        vars.put(CampaignVariables.VMS, vms);
        vars.put(CampaignVariables.GROUPS, groups);
        vars.put("patchCommand", patchCommand);
        vars.put("testCommand", testCommand);
        vars.put("verifyCommand", verifyCommand);
        vars.put(CampaignVariables.CANARY_VMS, canaryVms);
        vars.put(CampaignVariables.CANARY_GROUP, canaryGroup);
        vars.put(CampaignVariables.MAX_CONCURRENCY, maxConcurrency);
        vars.put(CampaignVariables.MAX_PER_HOST, maxPerHost);
        vars.put(CampaignVariables.MAX_FAILURES, maxFailures);
        return vars;
    }
}
