package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/** Runs the verify command in the restarted live VM; the downtime ends when it passes. */
@Component
public class VerifyLiveDelegate extends InWindowStep {
    private final Hypervisors hypervisors;
    private final GuestCommandStep step;
    private final RunSettings settings;

    public VerifyLiveDelegate(Hypervisors hypervisors, GuestShell guest, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.step = new GuestCommandStep(guest, settings);
        this.settings = settings;
    }

    @Override
    protected void run(DelegateExecution execution) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        String liveVm = RunState.clone(execution).liveVm();
        String address = hypervisor.waitForAddress(liveVm, settings.shadowAddressTimeout());
        Object verify = execution.getVariable(VERIFY_COMMAND);
        String command = verify == null || verify.toString().isBlank()
                ? RunState.requireString(execution, TEST_COMMAND) : verify.toString();
        CommandResult result = step.run(execution, address, command, settings.testTimeout(), VERIFY_OUTPUT);
        if (!result.succeeded()) {
            throw rollback(execution, "Verification of the merged live VM failed (exit code "
                    + result.exitCode() + "); see variable " + VERIFY_OUTPUT);
        }
        Downtime.record(execution, ClockUtil.getCurrentTime());
        ledger().exit(execution.getProcessInstanceId(), ClockUtil.getCurrentTime().toInstant());
    }

    @Override
    protected String stepName() {
        return "Verifying the live VM";
    }

    /** Measured downtime: live VM going down until its service answered again. */
    static final class Downtime {
        private Downtime() {}

        static void record(DelegateExecution execution, Date up) {
            execution.setVariable(SERVICE_VERIFIED_AT, up);
            Date down = (Date) execution.getVariable(LIVE_DOWN_AT);
            if (down != null) {
                execution.setVariable(DOWNTIME_SECONDS, (up.getTime() - down.getTime()) / 1000.0);
            }
        }
    }
}
