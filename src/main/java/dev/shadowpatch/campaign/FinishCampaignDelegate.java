package dev.shadowpatch.campaign;

import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.campaign.CampaignVariables.*;

/** The campaign's outcome in one line, for the report and Cockpit. */
@Component
public class FinishCampaignDelegate implements JavaDelegate {

    @Override
    public void execute(DelegateExecution campaign) {
        CampaignPlan plan = CampaignPlan.read(campaign);
        SlotLedger ledger = SlotLedger.read(campaign, plan);
        String counts = ledger.count(SlotLedger.PATCHED) + " patched, " + ledger.failures() + " failed, "
                + ledger.count(SlotLedger.SKIPPED) + " skipped";
        String outcome;
        if (ledger.thresholdReached()) {
            outcome = "stopped: failure threshold reached (" + ledger.failures() + " failures, limit " + ledger.failureLimit() + ")";
        } else if ("reject".equals(campaign.getVariable(DECISION)) && campaign.getVariable(DECIDED_BY) != null) {
            outcome = "rejected by " + campaign.getVariable(DECIDED_BY);
        } else if (!ledger.canariesPatched()) {
            outcome = "canary failed: " + (campaign.getVariable(END_REASON) == null
                    ? "no canary VM could run" : campaign.getVariable(END_REASON));
        } else if (!"approve".equals(campaign.getVariable(DECISION))) {
            outcome = "not approved";
        } else {
            outcome = "completed";
        }
        if (campaign.getVariable(END_REASON) == null && !outcome.equals("completed")) {
            campaign.setVariable(END_REASON, outcome);
        }
        campaign.setVariable(OUTCOME, outcome + " (" + counts + ")");
    }
}
