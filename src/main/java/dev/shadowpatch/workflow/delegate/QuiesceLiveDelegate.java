package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.workflow.MergeMode;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.LIVE_DOWN_AT;
import static dev.shadowpatch.workflow.ProcessVariables.LIVE_SHUTDOWN;
import static dev.shadowpatch.workflow.ProcessVariables.MERGE_MODE_RAN;

/** Shuts the live VM down (graceful, then forced): the downtime starts here. */
@Component
public class QuiesceLiveDelegate extends InWindowStep {
    private final Hypervisors hypervisors;
    private final RunSettings settings;

    public QuiesceLiveDelegate(Hypervisors hypervisors, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.settings = settings;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        if (execution.getVariable(LIVE_DOWN_AT) == null) { // a retry keeps the first moment
            execution.setVariable(LIVE_DOWN_AT, ClockUtil.getCurrentTime());
        }
        if (execution.getVariable(MERGE_MODE_RAN) == null) { // an online merge that fell back has said so already
            execution.setVariable(MERGE_MODE_RAN, MergeMode.REBOOT.formValue);
        }
        PowerOff how = hypervisor.shutdown(RunState.clone(execution).liveVm(), settings.shutdownGrace());
        // audit only: the window goes on either way (the live tree is read journal-consistent);
        // a retry finds the VM off and keeps the first answer
        if (execution.getVariable(LIVE_SHUTDOWN) == null || how != PowerOff.ALREADY_OFF) {
            execution.setVariable(LIVE_SHUTDOWN, how.word());
        }
    }

    @Override
    protected String stepName() {
        return "Quiescing the live VM";
    }
}
