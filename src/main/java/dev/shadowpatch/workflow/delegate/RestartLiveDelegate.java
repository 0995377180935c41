package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.LIVE_STARTED_AT;
import static dev.shadowpatch.workflow.ProcessVariables.LIVE_VERIFIED;

/**
 * Points the live VM at the merged disk and starts it; the boot is waited for by the verification's
 * poll, not here. Both calls are idempotent, so a retry after the VM already started changes nothing.
 */
@Component
public class RestartLiveDelegate extends InWindowStep {
    private final Hypervisors hypervisors;

    public RestartLiveDelegate(Hypervisors hypervisors) {
        this.hypervisors = hypervisors;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        ShadowClone clone = RunState.clone(execution);
        hypervisor.switchToMergeOverlay(clone);
        hypervisor.start(clone.liveVm());
        execution.setVariable(LIVE_STARTED_AT, ClockUtil.getCurrentTime());
        execution.setVariable(LIVE_VERIFIED, false);
    }

    @Override
    protected String stepName() {
        return "Restarting the live VM on the merged disk";
    }
}
