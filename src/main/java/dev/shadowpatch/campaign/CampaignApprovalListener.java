package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.ApprovalDecision;
import dev.shadowpatch.workflow.RunLedger;
import org.camunda.bpm.engine.RuntimeService;
import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.springframework.stereotype.Component;

import java.util.Set;

import static dev.shadowpatch.campaign.CampaignVariables.*;

/**
 * "Approve campaign": on creation, points the task at the campaign's report (the canaries' evidence);
 * on completion, checks the decision, refuses an approval while a started canary has no merge plan yet
 * (there is no evidence to approve), and records who decided and when.
 */
@Component
public class CampaignApprovalListener implements TaskListener {
    private final RunLedger ledger;

    public CampaignApprovalListener(RunLedger ledger) {
        this.ledger = ledger;
    }

    private static final Set<String> DECISIONS = Set.of("approve", "reject");
    /** Activities of a shadow-patching run before its merge plan exists. */
    static final Set<String> BEFORE_PLAN = Set.of("checkRequest", "snapshotAndClone", "shadowBooting", "awaitShadowAddress",
            "patchShadow", "patchRunning", "testShadow", "testRunning", "shutDownShadow", "computeMergePlan", "fixShadow",
            "startShadow", "shadowBootingAgain", "awaitShadowAddressAgain");

    @Override
    public void notify(DelegateTask task) {
        if (TaskListener.EVENTNAME_CREATE.equals(task.getEventName())) {
            task.setDescription("Evidence of the canaries (patch and test results, conflicts, predicted downtime): "
                    + "/api/campaigns/" + task.getProcessInstanceId() + "/report");
            return;
        }
        Object decision = task.getVariable(DECISION);
        if (decision == null || !DECISIONS.contains(decision.toString())) {
            throw new IllegalArgumentException("'" + DECISION + "' must be one of " + DECISIONS + ", was " + decision);
        }
        if ("approve".equals(decision)) {
            requireCanaryPlans(task);
        }
        Authentication auth = task.getProcessEngineServices().getIdentityService().getCurrentAuthentication();
        String who = auth != null ? auth.getUserId() : task.getAssignee();
        // The window's door of each run reads this row, not the variables below (display only).
        ledger.recordDecision(new RunLedger.Approval(task.getId(), task.getProcessInstanceId(), who,
                ClockUtil.getCurrentTime().toInstant(), ApprovalDecision.ofFormValue(decision, DECISION), null, null));
        task.getExecution().getProcessInstance().setVariable(DECISION, decision);
        task.getExecution().getProcessInstance().setVariable(DECIDED_BY, who);
        if ("approve".equals(decision)) {
            task.getExecution().getProcessInstance().setVariable(APPROVED_BY, who);
            task.getExecution().getProcessInstance().setVariable(APPROVED_AT, ClockUtil.getCurrentTime());
        }
    }

    private static void requireCanaryPlans(DelegateTask task) {
        RuntimeService runtime = task.getProcessEngineServices().getRuntimeService();
        String campaign = task.getProcessInstanceId();
        long atCall = runtime.createExecutionQuery().processInstanceId(campaign).activityId(CANARY_RUN_ACTIVITY).count();
        var runs = runtime.createProcessInstanceQuery().superProcessInstanceId(campaign).list();
        if (atCall > runs.size()) {
            throw notYet("a canary run is starting");
        }
        for (ProcessInstance run : runs) {
            if (runtime.getActiveActivityIds(run.getId()).stream().anyMatch(BEFORE_PLAN::contains)) {
                String vm = (String) runtime.getVariable(run.getId(), "liveVm");
                throw notYet("canary " + vm + " has no merge plan yet");
            }
        }
    }

    private static IllegalStateException notYet(String why) {
        return new IllegalStateException("Not yet: " + why + ". Approve once every started canary shows its plan "
                + "(see the campaign report), or reject.");
    }
}
