package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.springframework.stereotype.Component;

/** Points the live VM at the merged disk and boots it. */
@Component
public class RestartLiveDelegate extends InWindowStep {
    private final Hypervisors hypervisors;

    public RestartLiveDelegate(Hypervisors hypervisors) {
        this.hypervisors = hypervisors;
    }

    @Override
    protected void run(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        ShadowClone clone = RunState.clone(execution);
        hypervisor.switchToMergeOverlay(clone);
        hypervisor.start(clone.liveVm());
    }

    @Override
    protected String stepName() {
        return "Restarting the live VM on the merged disk";
    }
}
