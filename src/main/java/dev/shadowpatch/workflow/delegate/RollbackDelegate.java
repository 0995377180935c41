package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.ROLLBACK_REASON;

/**
 * Puts the live VM back on its previous disk (the merge overlay is dropped) and boots it. Nothing
 * the live VM wrote is lost: its delta was never written by the merge.
 */
@Component
public class RollbackDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;

    public RollbackDelegate(Hypervisors hypervisors) {
        this.hypervisors = hypervisors;
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
        VerifyLiveDelegate.Downtime.record(execution, ClockUtil.getCurrentTime());
    }
}
