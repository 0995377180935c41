package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

/** Shuts the patched shadow VM down cleanly so its file system is consistent for the merge plan. */
@Component
public class ShutDownShadowDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;
    private final RunSettings settings;

    public ShutDownShadowDelegate(Hypervisors hypervisors, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        hypervisor.shutdown(RunState.clone(execution).shadowVm(), settings.shutdownGrace());
    }
}
