package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.ROLLBACK_REASON;
import static dev.shadowpatch.workflow.ProcessVariables.ROLLED_BACK_AT;

/**
 * Puts the live VM back on its previous disk (the merge overlay is dropped) and boots it. Nothing
 * the live VM wrote is lost: its delta was never written by the merge.
 */
@Component
public class RollbackDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;
    private final RunLedger ledger;

    public RollbackDelegate(Hypervisors hypervisors, RunLedger ledger) {
        this.hypervisors = hypervisors;
        this.ledger = ledger;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        if (execution.getVariable(ROLLBACK_REASON) == null) {
            execution.setVariable(ROLLBACK_REASON, "The maintenance window was about to close before the merged VM was verified");
        }
        ShadowClone clone = RunState.clone(execution);
        hypervisor.rollback(clone);
        hypervisor.start(clone.liveVm());
        // Running again on its previous disk; its service was not verified here, so no serviceVerifiedAt.
        execution.setVariable(ROLLED_BACK_AT, ClockUtil.getCurrentTime());
        ledger.exit(execution.getProcessInstanceId(), ClockUtil.getCurrentTime().toInstant());
    }
}
