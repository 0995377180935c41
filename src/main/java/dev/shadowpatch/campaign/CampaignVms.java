package dev.shadowpatch.campaign;

import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.springframework.stereotype.Component;

import java.util.List;

/**
 * Read by patch-campaign.bpmn's expressions: the VMs of each phase (multi-instance collections) and
 * the gate between the canary phase and the rest.
 */
@Component("campaignVms")
public class CampaignVms {

    public List<String> canary(DelegateExecution campaign) {
        return CampaignPlan.read(campaign).runnableNames(true);
    }

    public List<String> rest(DelegateExecution campaign) {
        return CampaignPlan.read(campaign).runnableNames(false);
    }

    /** The rest start only after the campaign was approved and every canary was patched. */
    public boolean restMayStart(DelegateExecution campaign) {
        CampaignPlan plan = CampaignPlan.read(campaign);
        SlotLedger ledger = SlotLedger.read(campaign, plan);
        return "approve".equals(campaign.getVariable(CampaignVariables.DECISION)) && ledger.canariesPatched()
                && !ledger.thresholdReached();
    }
}
