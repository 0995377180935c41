package dev.shadowpatch.campaign;

import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

/**
 * First step of a campaign, in the start's own transaction: a malformed request fails the start
 * (the REST caller or the start form sees why), nothing half-started remains.
 */
@Component
public class PrepareCampaignDelegate implements JavaDelegate {
    private final Inventory inventory;

    public PrepareCampaignDelegate(Inventory inventory) {
        this.inventory = inventory;
    }

    @Override
    public void execute(DelegateExecution execution) {
        CampaignRequest.plan(execution, inventory).write(execution);
    }
}
