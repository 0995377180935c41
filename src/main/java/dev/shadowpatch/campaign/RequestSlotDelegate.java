package dev.shadowpatch.campaign;

import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.campaign.CampaignVariables.*;

/**
 * A VM's branch asks the campaign's {@link SlotLedger} for a slot. Also declares the branch's own
 * variables locally, so what the called run hands back stays in this branch and never touches the
 * variables the other branches share.
 */
@Component
public class RequestSlotDelegate implements JavaDelegate {

    @Override
    public void execute(DelegateExecution branch) {
        String vm = (String) branch.getVariable(VM);
        CampaignPlan plan = CampaignPlan.read(branch);
        CampaignPlan.Entry entry = plan.vms().get(plan.indexOf(vm));
        branch.setVariableLocal(VM_HOST, entry.host());
        branch.setVariableLocal(VM_GROUP, entry.group());
        branch.setVariableLocal(VM_WINDOW, entry.window());
        branch.setVariableLocal(VM_ADDRESS, entry.address());
        branch.setVariableLocal(RUN_OUTCOME, null);
        SlotLedger ledger = SlotLedger.read(branch, plan);
        SlotLedger.Decision decision = ledger.request(vm);
        ledger.write(branch);
        branch.setVariableLocal(SLOT_DECISION, decision.name().toLowerCase());
    }
}
