package dev.shadowpatch.workflow.delegate;

import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.util.Set;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * On completion of the approval task: checks the decision and records who decided and when, so an
 * auditor can answer "who allowed this change" from history.
 */
@Component
public class ApprovalRecorder implements TaskListener {
    private static final Set<String> DECISIONS = Set.of("approve", "reject", "sendBack");

    @Override
    public void notify(DelegateTask task) {
        Object decision = task.getVariable(APPROVAL_DECISION);
        if (decision == null || !DECISIONS.contains(decision.toString())) {
            throw new IllegalArgumentException("'" + APPROVAL_DECISION + "' must be one of " + DECISIONS
                    + ", was " + decision);
        }
        Authentication auth = task.getProcessEngineServices().getIdentityService().getCurrentAuthentication();
        String who = auth != null ? auth.getUserId() : task.getAssignee();
        task.setVariable("approvalDecidedBy", who);
        task.setVariable("approvalDecidedAt", ClockUtil.getCurrentTime());
        if ("approve".equals(decision)) {
            task.setVariable(APPROVED_BY, who);
            task.setVariable(APPROVED_AT, ClockUtil.getCurrentTime());
        }
    }
}
