package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.RunOutcome;
import org.camunda.bpm.engine.RuntimeService;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import java.util.Map;

import static dev.shadowpatch.campaign.CampaignVariables.*;

/**
 * A VM's run ended: its slot goes back to the {@link SlotLedger}, which hands free slots to the
 * waiting VMs in start order (a message to each granted branch, in this same transaction) or stops
 * them all once the failure threshold is reached. A canary that did not end patched cancels a
 * pending campaign approval: the rest will never start.
 */
@Component
public class ReleaseSlotDelegate implements JavaDelegate {

    @Override
    public void execute(DelegateExecution branch) {
        String vm = (String) branch.getVariable(VM);
        RunOutcome outcome = RunOutcome.ofWords(branch.getVariable(RUN_OUTCOME));
        CampaignPlan plan = CampaignPlan.read(branch);
        SlotLedger ledger = SlotLedger.read(branch, plan);
        var grants = ledger.release(vm, outcome);
        ledger.write(branch);
        RuntimeService runtime = branch.getProcessEngineServices().getRuntimeService();
        for (SlotLedger.Grant grant : grants) {
            runtime.createMessageCorrelation(MESSAGE_SLOT).processInstanceId(branch.getProcessInstanceId())
                    .localVariableEquals(SLOT_VM, grant.vm())
                    // not local: lands in the branch's own slotDecision (declared by RequestSlotDelegate)
                    .setVariables(Map.of(SLOT_DECISION, grant.decision().name().toLowerCase()))
                    .correlate();
        }
        if (plan.vms().get(plan.indexOf(vm)).canary() && outcome != RunOutcome.PATCHED) {
            branch.getProcessInstance().setVariable(END_REASON, "canary " + vm + " ended " + (outcome == null ? "without an outcome" : outcome.words));
            runtime.createMessageCorrelation(MESSAGE_CANARY_FAILED).processInstanceId(branch.getProcessInstanceId())
                    .correlateAll(); // none waiting when the campaign was already decided
        }
    }
}
