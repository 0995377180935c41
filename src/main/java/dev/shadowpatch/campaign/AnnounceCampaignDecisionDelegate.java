package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import java.util.HashMap;
import java.util.Map;

import static dev.shadowpatch.campaign.CampaignVariables.*;

/**
 * Hands the campaign's decision to every run of it that waits for one (runs that reach that point
 * later read it from the campaign themselves). Reached without a decision when a canary failed
 * before anyone approved: that is a rejection, with the canary as the reason.
 */
@Component
public class AnnounceCampaignDecisionDelegate implements JavaDelegate {

    @Override
    public void execute(DelegateExecution campaign) {
        if (campaign.getVariable(DECISION) == null) {
            campaign.setVariable(DECISION, "reject");
        }
        String decision = campaign.getVariable(DECISION).toString();
        Map<String, Object> toRuns = new HashMap<>();
        toRuns.put(ProcessVariables.APPROVAL_DECISION, decision);
        if ("approve".equals(decision)) {
            toRuns.put(ProcessVariables.APPROVED_BY, campaign.getVariable(APPROVED_BY));
            toRuns.put(ProcessVariables.APPROVED_AT, campaign.getVariable(APPROVED_AT));
        } else if (campaign.getVariable(END_REASON) == null) {
            campaign.setVariable(END_REASON, "rejected by " + campaign.getVariable(DECIDED_BY));
        }
        campaign.getProcessEngineServices().getRuntimeService().createMessageCorrelation(MESSAGE_DECIDED)
                .processInstanceVariableEquals(ProcessVariables.CAMPAIGN_ID, campaign.getProcessInstanceId())
                .setVariables(toRuns).correlateAll();
    }
}
