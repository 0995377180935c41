package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import dev.shadowpatch.workflow.ShadowMerger.PlanResult;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

/**
 * Computes the merge plan against the live VM as it is now, before the window, so the operator
 * approves exactly what will be written and the downtime it is predicted to cost.
 */
@Component
public class ComputeMergePlanDelegate implements JavaDelegate {
    private final ShadowMerger merger;
    private final RunSettings settings;

    public ComputeMergePlanDelegate(ShadowMerger merger, RunSettings settings) {
        this.merger = merger;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        PlanResult plan = merger.plan(RunState.clone(execution), RunState.layout(execution));
        PlanVariables.write(execution, plan, settings);
    }
}
