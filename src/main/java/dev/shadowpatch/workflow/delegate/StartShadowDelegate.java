package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

/** Boots the (shut down) shadow VM again so an operator can fix it; its address is polled for after. */
@Component
public class StartShadowDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;
    private final RunSettings settings;

    public StartShadowDelegate(Hypervisors hypervisors, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        hypervisor.start(RunState.clone(execution).shadowVm());
        AwaitShadowAddressDelegate.started(execution);
        AwaitShadowAddressDelegate.look(execution, hypervisor, settings);
    }
}
