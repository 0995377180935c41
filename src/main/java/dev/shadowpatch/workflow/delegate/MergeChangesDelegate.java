package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import dev.shadowpatch.workflow.ShadowMerger.MergeResult;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Merges the shadow's changes into a fresh overlay on the live delta (so dropping the overlay undoes
 * it), starting no operation after the window entry's deadline: a merge cut short fails, and past the
 * deadline the live VM is rolled back at once. New conflicts found in the window are not guessed at:
 * the live VM is rolled back.
 */
@Component
public class MergeChangesDelegate extends InWindowStep {
    private final Hypervisors hypervisors;
    private final ShadowMerger merger;

    public MergeChangesDelegate(Hypervisors hypervisors, ShadowMerger merger) {
        this.hypervisors = hypervisors;
        this.merger = merger;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        Hypervisor hypervisor = hypervisors.forHost(RunState.hostOf(execution));
        ShadowClone chain = RunState.clone(execution);
        byte[] approvedPlan = RunState.fileBytes(execution, MERGE_PLAN);
        // Fresh overlays on every attempt, on the disks the plan writes: a half-written one from a failed try is dropped.
        ShadowClone clone = hypervisor.createMergeOverlay(chain, merger.disksWritten(chain, RunState.layout(execution), approvedPlan));
        RunState.putClone(execution, clone);
        MergeResult result;
        try {
            // no operation starts past the entry's deadline (window end less the rollback margin)
            result = merger.merge(clone, RunState.layout(execution), approvedPlan, entry.deadline());
        } catch (ShadowMerger.ConflictsUnresolvedException e) {
            throw rollback(execution, "The live VM changed since the plan was approved: " + e.getMessage());
        }
        execution.setVariable(MERGE_REPORT, RunState.jsonFile("merge-report.json", result.reportJson()));
        execution.setVariable(MERGE_RULE_COUNTS, RunState.toJson(RunState.sorted(result.ruleCounts())));
    }

    @Override
    protected String stepName() {
        return "Merging the shadow's changes";
    }
}
