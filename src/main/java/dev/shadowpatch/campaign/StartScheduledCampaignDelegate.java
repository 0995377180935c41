package dev.shadowpatch.campaign;

import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

/**
 * The scheduled-campaign process's step: starts the configured campaign as if an operator had
 * requested it (same validation, same approval), and records which campaign instance it started.
 */
@Component
public class StartScheduledCampaignDelegate implements JavaDelegate {
    private final CampaignSchedule schedule;

    public StartScheduledCampaignDelegate(CampaignSchedule schedule) {
        this.schedule = schedule;
    }

    @Override
    public void execute(DelegateExecution execution) {
        if (!schedule.configured()) {
            execution.setVariable("campaignInstanceId", "none: shadowpatch.scheduled-campaign.name is not configured");
            return;
        }
        var request = new java.util.HashMap<>(schedule.request());
        request.put(dev.shadowpatch.workflow.ProcessVariables.STARTED_BY, "schedule " + schedule.name());
        var campaign = execution.getProcessEngineServices().getRuntimeService()
                .startProcessInstanceByKey(CampaignVariables.PROCESS_KEY, request);
        execution.setVariable("campaignInstanceId", campaign.getId());
    }
}
