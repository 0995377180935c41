package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestJobs;
import dev.shadowpatch.virt.HypervisorException;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.VmAddress;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * One look at the restarted live VM, repeated by the process's poll timer: once it has an address
 * (guest agent, DHCP lease or the run's {@code configuredLiveAddress}; which one is kept in
 * {@code liveAddressSource}) and answers SSH, the verify command starts there (detached, like the patch); once that passes, the
 * downtime ends. A VM that does not answer within {@code boot-timeout} of its start, or whose
 * verification fails or times out, is rolled back. No look holds the job lock for long.
 */
@Component
public class VerifyLiveDelegate extends InWindowStep {
    private static final Duration ONE_LOOK = Duration.ofSeconds(2);

    private final Hypervisors hypervisors;
    private final GuestCommandStep step;
    private final RunSettings settings;

    public VerifyLiveDelegate(Hypervisors hypervisors, GuestJobs jobs, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.step = new GuestCommandStep(jobs, settings);
        this.settings = settings;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        String liveVm = RunState.clone(execution).liveVm();
        Object verify = execution.getVariable(VERIFY_COMMAND);
        String command = verify == null || verify.toString().isBlank()
                ? RunState.requireString(execution, TEST_COMMAND) : verify.toString();
        Optional<CommandResult> result;
        if (step.inProgress(execution, VERIFY_OUTPUT)) {
            result = step.poll(execution, RunState.requireString(execution, LIVE_ADDRESS), command, settings.testTimeout(), VERIFY_OUTPUT);
        } else {
            Instant started = ((Date) execution.getVariable(LIVE_STARTED_AT)).toInstant();
            Instant now = ClockUtil.getCurrentTime().toInstant();
            if (now.isAfter(started.plus(settings.bootTimeout()))) {
                throw rollback(execution, "The merged live VM did not answer within " + settings.bootTimeout().toSeconds()
                        + " s of its start (shadowpatch.run.boot-timeout)");
            }
            try {
                Object configured = execution.getVariable(CONFIGURED_LIVE_ADDRESS);
                VmAddress found = hypervisors.forHost(RunState.hostOf(execution))
                        .waitForAddress(liveVm, ONE_LOOK, configured == null ? null : configured.toString());
                String address = found.address();
                execution.setVariable(LIVE_ADDRESS, address);
                execution.setVariable(LIVE_ADDRESS_SOURCE, found.source().word);
                Date down = (Date) execution.getVariable(LIVE_DOWN_AT);
                String jobId = execution.getProcessInstanceId() + "-verify-" + (down == null ? 0 : down.getTime());
                result = step.start(execution, address, jobId, command, settings.testTimeout(), VERIFY_OUTPUT);
            } catch (HypervisorException | GuestException stillBooting) { // no lease yet, or sshd not up yet
                execution.setVariable(LIVE_VERIFIED, false);
                return;
            }
        }
        if (result.isEmpty()) {
            execution.setVariable(LIVE_VERIFIED, false);
            return;
        }
        if (!result.get().succeeded()) {
            throw rollback(execution, "Verification of the merged live VM failed (exit code "
                    + result.get().exitCode() + "); see variable " + VERIFY_OUTPUT);
        }
        Date up = ClockUtil.getCurrentTime();
        execution.setVariable(SERVICE_VERIFIED_AT, up);
        Date down = (Date) execution.getVariable(LIVE_DOWN_AT);
        if (down != null) {
            execution.setVariable(DOWNTIME_SECONDS, (up.getTime() - down.getTime()) / 1000.0);
        }
        execution.setVariable(LIVE_VERIFIED, true);
        ledger().exit(execution.getProcessInstanceId(), up.toInstant());
    }

    @Override
    protected String stepName() {
        return "Verifying the live VM";
    }
}
