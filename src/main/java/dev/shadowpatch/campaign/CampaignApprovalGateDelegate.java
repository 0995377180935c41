package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import java.util.Map;

import static dev.shadowpatch.campaign.CampaignVariables.*;

/**
 * In a run of a campaign whose plan has no conflicts: takes the campaign's decision if there is one
 * (the run then needs no approval of its own), else the run waits for it. Read here, when the plan is
 * ready, not at the run's start: a campaign approved meanwhile is seen, and an approval cannot slip
 * between a canary's plan and this check (the approval refuses while a canary is still planning).
 */
@Component
public class CampaignApprovalGateDelegate implements JavaDelegate {

    @Override
    public void execute(DelegateExecution run) {
        String campaign = (String) run.getVariable(ProcessVariables.CAMPAIGN_ID);
        Map<String, Object> decided = run.getProcessEngineServices().getRuntimeService()
                .getVariables(campaign, java.util.List.of(DECISION, APPROVED_BY, APPROVED_AT));
        Object decision = decided.get(DECISION);
        run.setVariable(CAMPAIGN_DECIDED, decision != null);
        if (decision != null) {
            run.setVariable(ProcessVariables.APPROVAL_DECISION, decision);
            if ("approve".equals(decision)) {
                run.setVariable(ProcessVariables.APPROVED_BY, decided.get(APPROVED_BY));
                run.setVariable(ProcessVariables.APPROVED_AT, decided.get(APPROVED_AT));
            }
        }
    }
}
