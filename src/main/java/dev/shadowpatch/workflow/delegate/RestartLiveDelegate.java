package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.springframework.stereotype.Component;

/** Points the live VM at the merged disk and boots it. */
@Component
public class RestartLiveDelegate extends InWindowStep {
    private final Hypervisor hypervisor;

    public RestartLiveDelegate(Hypervisor hypervisor) {
        this.hypervisor = hypervisor;
    }

    @Override
    protected void run(DelegateExecution execution) {
        ShadowClone clone = RunState.clone(execution);
        hypervisor.switchToMergeOverlay(clone);
        hypervisor.start(clone.liveVm());
    }

    @Override
    protected String stepName() {
        return "Restarting the live VM on the merged disk";
    }
}
