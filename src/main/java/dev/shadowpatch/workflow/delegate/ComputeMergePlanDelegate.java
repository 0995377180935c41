package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.disk.BootLoaderArea;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.OnlineOffer;
import dev.shadowpatch.workflow.ProcessVariables;
import dev.shadowpatch.workflow.RunState;
import java.util.List;
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
        ShadowClone clone = RunState.clone(execution);
        GuestLayout layout = RunState.layout(execution);
        // before the plan's summary, which names it first
        ShadowMerger.OutsideFileSystems outside = merger.outsideFileSystems(clone, layout);
        List<String> unmerged = outside.unmerged();
        execution.setVariable(ProcessVariables.UNMERGED_WRITES, unmerged.isEmpty() ? null
                : "the shadow wrote outside every file system the merge carries over, so that part of the patch would not"
                  + " reach the live VM (approve only if it does not matter; else reject): " + String.join("; ", unmerged));
        List<BootLoaderArea.Copy> boot = outside.bootLoaders();
        execution.setVariable(ProcessVariables.BOOT_LOADER, boot.isEmpty() ? null
                : String.join("; ", boot.stream().map(BootLoaderArea.Copy::describe).toList()));
        execution.setVariable(ProcessVariables.BOOT_LOADER_DISKS, boot.isEmpty() ? null
                : String.join(" ", boot.stream().map(BootLoaderArea.Copy::disk).toList()));
        PlanResult plan = merger.plan(clone, layout);
        PlanVariables.write(execution, plan, settings);
        execution.removeVariable(ProcessVariables.MERGE_MODE); // a new plan, a new choice: the approval makes it again
        try {
            OnlineOffer.record(execution);
        } catch (RuntimeException e) { // the offer is evidence for the form: it never stops the plan
            execution.setVariable(ProcessVariables.ONLINE_MERGE_OFFERED, false);
            execution.setVariable(ProcessVariables.ONLINE_MERGE_BLOCKERS, RunState.head("not known: " + e.getMessage()));
        }
    }
}
