package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.ApprovalDecision;
import dev.shadowpatch.workflow.MergeMode;
import dev.shadowpatch.workflow.PlanDigest;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * On completion of the approval task: checks the decision and records who decided, when, and the
 * digest of the plan they saw, in the {@link RunLedger} (where the window's door and the audit read
 * it; nobody can edit it through the engine's API). The variables {@code approvedBy}/{@code approvedAt}
 * are set for display only.
 */
@Component
public class ApprovalRecorder implements TaskListener {
    private final RunLedger ledger;

    public ApprovalRecorder(RunLedger ledger) {
        this.ledger = ledger;
    }

    @Override
    public void notify(DelegateTask task) {
        ApprovalDecision decision = ApprovalDecision.ofFormValue(task.getVariable(APPROVAL_DECISION), APPROVAL_DECISION);
        MergeMode mode = decision == ApprovalDecision.APPROVE ? MergeMode.ofFormValue(task.getVariable(MERGE_MODE)) : MergeMode.REBOOT;
        if (mode == MergeMode.ONLINE && !Boolean.TRUE.equals(task.getVariable(ONLINE_MERGE_OFFERED))) {
            throw new IllegalArgumentException("'" + MERGE_MODE + "' online is not offered for this run: "
                    + task.getVariable(ONLINE_MERGE_BLOCKERS) + " (choose reboot)");
        }
        Authentication auth = task.getProcessEngineServices().getIdentityService().getCurrentAuthentication();
        String who = auth != null ? auth.getUserId() : task.getAssignee();
        Date now = ClockUtil.getCurrentTime();
        String plan = PlanDigest.sha256(RunState.fileBytes(task.getExecution(), MERGE_PLAN));
        ledger.recordDecision(new RunLedger.Approval(task.getId(), task.getProcessInstanceId(), who, now.toInstant(),
                decision, plan, null));
        task.setVariable("approvalDecidedBy", who);
        task.setVariable("approvalDecidedAt", now);
        if (decision == ApprovalDecision.APPROVE) {
            task.setVariable(APPROVED_BY, who);
            task.setVariable(APPROVED_AT, now);
        }
    }
}
