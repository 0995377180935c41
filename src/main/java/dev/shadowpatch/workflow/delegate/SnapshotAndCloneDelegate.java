package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import java.util.List;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.LIVE_VM;
import static dev.shadowpatch.workflow.ProcessVariables.SHADOW_CUT_OFF;

/**
 * Snapshot the live VM's disk and start the shadow VM on an overlay of the same base; its boot is
 * waited for by {@link AwaitShadowAddressDelegate}'s poll, not here.
 */
@Component
public class SnapshotAndCloneDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;
    private final RunSettings settings;

    public SnapshotAndCloneDelegate(Hypervisors hypervisors, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        String liveVm = RunState.requireString(execution, LIVE_VM);
        // Said before the shadow exists, so the approver and the audit see what the shadow was cut off from.
        List<String> cutOff = hypervisor.sharedDevices(liveVm);
        execution.setVariable(SHADOW_CUT_OFF, cutOff.isEmpty() ? null
                : "The shadow gets none of what the live VM shares (" + cutOff.size() + "): " + String.join("; ", cutOff));
        // The process instance id names the run: a retry finds the same shadow instead of a second one.
        ShadowClone clone = hypervisor.createShadow(liveVm, execution.getProcessInstanceId());
        RunState.putClone(execution, clone);
        AwaitShadowAddressDelegate.started(execution);
        AwaitShadowAddressDelegate.look(execution, hypervisor, settings);
    }
}
