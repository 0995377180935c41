package dev.shadowpatch.campaign;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.util.HashMap;
import java.util.Map;

/**
 * Pre-check of every VM on its host: a VM that is not defined there, not running, or whose host
 * does not answer, is skipped with the reason (shown in the report), never failed silently and
 * never counted as a failure. An unreachable host is asked once, not once per VM. Then the slot
 * ledger starts.
 */
@Component
public class CheckVmsDelegate implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(CheckVmsDelegate.class);
    private final Hypervisors hypervisors;

    public CheckVmsDelegate(Hypervisors hypervisors) {
        this.hypervisors = hypervisors;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Map<String, String> unreachable = new HashMap<>();
        CampaignPlan plan = CampaignPlan.read(execution).withEntries(e -> {
            if (unreachable.containsKey(e.host())) {
                return e.skip(unreachable.get(e.host()));
            }
            try {
                Hypervisor host = hypervisors.forHost(e.host());
                if (host.isRunning(e.vm())) {
                    return e;
                }
                // asked only for the VMs skipped, to tell the operator what to fix: the VM or the inventory
                return e.skip((host.exists(e.vm()) ? "not running on host " : "not defined on host ") + e.host());
            } catch (RuntimeException ex) {
                String reason = "host " + e.host() + " unreachable: " + ex.getMessage();
                log.warn("Campaign {}: {}; its VMs are skipped", execution.getProcessInstanceId(), reason);
                unreachable.put(e.host(), reason);
                return e.skip(reason);
            }
        });
        plan.write(execution);
        SlotLedger.start(plan).write(execution);
    }
}
