package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.delegate.BpmnError;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.runtime.Job;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A step taken while the live VM is down. A failure is retried like any other job, but when the
 * last retry fails too the step does not leave an incident with the VM down: it raises
 * {@link ProcessKeys#ERROR_ROLLBACK_REQUIRED} so the process rolls the live VM back at once.
 */
abstract class InWindowStep implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(InWindowStep.class);

    @Override
    public final void execute(DelegateExecution execution) throws Exception {
        try {
            run(execution);
        } catch (BpmnError e) {
            throw e;
        } catch (Exception e) {
            if (!isLastAttempt(execution)) {
                throw e;
            }
            String reason = stepName() + " failed in the maintenance window: " + e.getMessage();
            log.warn("Run {}: {}; rolling the live VM back", execution.getProcessInstanceId(), reason);
            execution.setVariable(ProcessVariables.ROLLBACK_REASON, reason);
            throw new BpmnError(ProcessKeys.ERROR_ROLLBACK_REQUIRED, reason);
        }
    }

    protected abstract void run(DelegateExecution execution) throws Exception;

    protected abstract String stepName();

    /** Rollback needed for a business reason (verify failed, new conflicts): no retry helps. */
    protected static BpmnError rollback(DelegateExecution execution, String reason) {
        execution.setVariable(ProcessVariables.ROLLBACK_REASON, reason);
        return new BpmnError(ProcessKeys.ERROR_ROLLBACK_REQUIRED, reason);
    }

    private static boolean isLastAttempt(DelegateExecution execution) {
        Job job = execution.getProcessEngineServices().getManagementService().createJobQuery()
                .processInstanceId(execution.getProcessInstanceId()).activityId(execution.getCurrentActivityId())
                .messages().singleResult();
        return job == null || job.getRetries() <= 1;
    }
}
