package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

/** Shuts the patched shadow VM down cleanly so its file system is consistent for the merge plan. */
@Component
public class ShutDownShadowDelegate implements JavaDelegate {
    private final Hypervisor hypervisor;
    private final RunSettings settings;

    public ShutDownShadowDelegate(Hypervisor hypervisor, RunSettings settings) {
        this.hypervisor = hypervisor;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        hypervisor.shutdown(RunState.clone(execution).shadowVm(), settings.shutdownGrace());
    }
}
