package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.SHADOW_ADDRESS;
import static dev.shadowpatch.workflow.ProcessVariables.SHADOW_SHUTDOWN;
import static dev.shadowpatch.workflow.ProcessVariables.SHADOW_SHUTDOWN_NOTE;

/**
 * Stops the shadow's change capture, shuts the patched shadow VM down cleanly so its file system is
 * consistent for the merge plan, and records how it went off: a shadow forced off after the grace
 * period is shown to the approver.
 */
@Component
public class ShutDownShadowDelegate implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(ShutDownShadowDelegate.class);
    private final Hypervisors hypervisors;
    private final RunSettings settings;
    private final ChangeCapture capture;

    public ShutDownShadowDelegate(Hypervisors hypervisors, RunSettings settings, ChangeCapture capture) {
        this.hypervisors = hypervisors;
        this.settings = settings;
        this.capture = capture;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        String shadowVm = RunState.clone(execution).shadowVm();
        // the log the merge reads holds the patch and the tests, not the shutdown
        Object address = execution.getVariable(SHADOW_ADDRESS);
        if (address != null) {
            ShadowChangeCapture.stop(capture, execution, GuestCommandStep.target(execution, address.toString(), settings),
                    hypervisor.isRunning(shadowVm));
        }
        PowerOff how = hypervisor.shutdown(shadowVm, settings.shutdownGrace());
        execution.setVariable(SHADOW_SHUTDOWN, how.word());
        execution.setVariable(SHADOW_SHUTDOWN_NOTE, noteFor(how, settings.shutdownGrace().toSeconds()));
        if (how != PowerOff.CLEAN) {
            log.warn("run {}: shadow VM {} went off {}: shown to the approver", execution.getProcessInstanceId(), shadowVm, how);
        }
    }

    /** What the way the shadow went off means for its merge plan, for the approver; empty when clean. */
    static String noteFor(PowerOff how, long graceSeconds) {
        return switch (how) {
            case CLEAN -> "";
            case FORCED -> "The shadow VM did not shut down within " + graceSeconds + " s and was forced off."
                    + " Its file system is read journal-consistent (the journal is replayed), but writes the shadow"
                    + " had not yet flushed to its disk are lost, so the plan may lack the patch's last changes."
                    + " Send the run back to fix the shadow (it boots again and is shut down anew), or approve knowing this.";
            case ALREADY_OFF -> "The shadow VM was already off when the run shut it down (it stopped by itself, or an"
                    + " earlier attempt of this step forced it off): whether it flushed its last writes is not known."
                    + " Send the run back to fix the shadow, or approve knowing this.";
        };
    }
}
