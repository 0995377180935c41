package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.HypervisorException;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.VmAddress;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * One look for the booting shadow's address, repeated by the process's poll timer (no job holds its
 * lock through a boot). Past {@code shadow-address-timeout} from the shadow's start it fails, so the
 * step ends in an incident with the reason.
 */
@Component
public class AwaitShadowAddressDelegate implements JavaDelegate {
    private static final Duration ONE_LOOK = Duration.ofSeconds(2);

    private final Hypervisors hypervisors;
    private final RunSettings settings;

    public AwaitShadowAddressDelegate(Hypervisors hypervisors, RunSettings settings) {
        this.hypervisors = hypervisors;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        look(execution, hypervisors.forHost(RunState.hostOf(execution)), settings);
    }

    /** Sets {@code shadowAddress} and {@code shadowUp} when the shadow has an address (agent or lease); fails past the timeout. */
    static void look(DelegateExecution execution, Hypervisor hypervisor, RunSettings settings) {
        String shadowVm = RunState.clone(execution).shadowVm();
        try {
            VmAddress address = hypervisor.waitForAddress(shadowVm, ONE_LOOK, null); // the live VM's configured address is not the shadow's
            execution.setVariable(SHADOW_ADDRESS, address.address());
            execution.setVariable(SHADOW_ADDRESS_SOURCE, address.source().word);
            execution.setVariable(SHADOW_UP, true);
            Instant started = ((Date) execution.getVariable(SHADOW_STARTED_AT)).toInstant();
            execution.setVariable(SHADOW_BOOT_SECONDS, Duration.between(started, ClockUtil.getCurrentTime().toInstant()).toMillis() / 1000.0);
        } catch (HypervisorException notYet) {
            Instant started = ((Date) execution.getVariable(SHADOW_STARTED_AT)).toInstant();
            if (ClockUtil.getCurrentTime().toInstant().isAfter(started.plus(settings.shadowAddressTimeout()))) {
                throw new HypervisorException("Shadow VM " + shadowVm + " got no address within "
                        + settings.shadowAddressTimeout().toSeconds() + " s of its start: " + notYet.getMessage(), notYet);
            }
            execution.setVariable(SHADOW_UP, false);
        }
    }

    /** Marks the moment the shadow was (re)started, from which its address is waited for. */
    static void started(DelegateExecution execution) {
        execution.setVariable(SHADOW_STARTED_AT, ClockUtil.getCurrentTime());
        execution.setVariable(SHADOW_UP, false);
        execution.removeVariable(SHADOW_ADDRESS);
        execution.removeVariable(SHADOW_ADDRESS_SOURCE);
    }
}
