package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunOutcome;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.OUTCOME;
import static dev.shadowpatch.workflow.ProcessVariables.SHADOW_CLONE;

/**
 * Removes the shadow VM and its delta and flattens the live chain. The run's outcome comes from the
 * task's input parameter {@code cleanupOutcome}, a {@link RunOutcome} constant; the variable shows its words.
 */
@Component
public class CleanupDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;
    private final RunLedger ledger;
    private final ShadowMerger merger;

    public CleanupDelegate(Hypervisors hypervisors, RunLedger ledger, ShadowMerger merger) {
        this.hypervisors = hypervisors;
        this.ledger = ledger;
        this.merger = merger;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        if (execution.getVariable(SHADOW_CLONE) != null) { // a run can end before its shadow existed
            hypervisor.cleanup(RunState.clone(execution)); // a long blockpull keeps its lock (EveryStepKeepsItsLock)
            merger.forget(RunState.clone(execution));
        }
        ledger.release(execution.getProcessInstanceId()); // the VM is free for its next run
        RunOutcome outcome = RunOutcome.valueOf(String.valueOf(execution.getVariableLocal("cleanupOutcome")));
        execution.getProcessInstance().setVariable(OUTCOME, outcome.words);
    }
}
