package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.ProcessVariables;
import dev.shadowpatch.workflow.RunLedger;
import org.camunda.bpm.engine.delegate.BpmnError;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.camunda.bpm.engine.runtime.Job;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;

import java.time.Instant;

/**
 * A step taken while the live VM is down. It runs only inside an entry through the window's door
 * ({@link WindowDoorDelegate}): reached any other way (a process-instance modification, a job
 * executed by hand) it touches nothing and sends the run back to wait for its window. Past the
 * entry's deadline it rolls back instead of going on. A failure is retried like any other job, but
 * when the last retry fails too the step does not leave an incident with the VM down: it raises
 * {@link ProcessKeys#ERROR_ROLLBACK_REQUIRED} so the process rolls the live VM back at once; so
 * does a failure after the entry's deadline, when waiting for a retry could only end in a rollback.
 * While a step runs, its job's lock is renewed (as every step's: {@link dev.shadowpatch.workflow.EveryStepKeepsItsLock}):
 * a step longer than the lock time is not taken up a second time, and a dead node's step is taken
 * over within one lock time.
 */
abstract class InWindowStep implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(InWindowStep.class);

    private RunLedger ledger;

    @Autowired
    void setLedger(RunLedger ledger) {
        this.ledger = ledger;
    }

    @Override
    public final void execute(DelegateExecution execution) throws Exception {
        RunLedger.WindowEntry entry = ledger.openEntry(execution.getProcessInstanceId()).orElseThrow(() -> new BpmnError(
                ProcessKeys.ERROR_WINDOW_NOT_ENTERED, stepName() + " was reached without passing the window's door:"
                + " nothing was touched; the run waits for its window"));
        Instant now = ClockUtil.getCurrentTime().toInstant();
        if (now.isAfter(entry.deadline())) {
            throw rollback(execution, stepName() + " would start at " + now + ", after the window's deadline "
                    + entry.deadline() + " (window end less the rollback margin)");
        }
        try {
            run(execution, entry);
        } catch (BpmnError e) {
            throw e;
        } catch (Exception e) {
            boolean pastDeadline = ClockUtil.getCurrentTime().toInstant().isAfter(entry.deadline());
            if (!isLastAttempt(execution) && !pastDeadline) {
                throw e;
            }
            String reason = stepName() + " failed in the maintenance window" + (pastDeadline ? " (its deadline "
                    + entry.deadline() + " has passed)" : "") + ": " + e.getMessage();
            log.warn("Run {}: {}; rolling the live VM back", execution.getProcessInstanceId(), reason);
            execution.setVariable(ProcessVariables.ROLLBACK_REASON, reason);
            throw new BpmnError(ProcessKeys.ERROR_ROLLBACK_REQUIRED, reason);
        }
    }

    /** The step itself; {@code entry} is the run's open entry through the window's door (its deadline). */
    protected abstract void run(DelegateExecution execution, RunLedger.WindowEntry entry) throws Exception;

    protected abstract String stepName();

    /** Rollback needed for a business reason (verify failed, new conflicts): no retry helps. */
    protected static BpmnError rollback(DelegateExecution execution, String reason) {
        execution.setVariable(ProcessVariables.ROLLBACK_REASON, reason);
        return new BpmnError(ProcessKeys.ERROR_ROLLBACK_REQUIRED, reason);
    }

    protected RunLedger ledger() {
        return ledger;
    }

    private static boolean isLastAttempt(DelegateExecution execution) {
        Job job = execution.getProcessEngineServices().getManagementService().createJobQuery()
                .processInstanceId(execution.getProcessInstanceId()).activityId(execution.getCurrentActivityId())
                .messages().singleResult();
        return job == null || job.getRetries() <= 1;
    }
}
