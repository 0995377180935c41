package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import dev.shadowpatch.workflow.ShadowMerger.MergeResult;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Merges the shadow's changes into a fresh overlay on the live delta (so dropping the overlay undoes
 * it), starting no operation after the window entry's deadline: a merge cut short fails, and past the
 * deadline the live VM is rolled back at once. New conflicts found in the window are not guessed at:
 * the live VM is rolled back. The shadow's boot loader install, when the plan carries it, is copied
 * into the same overlay after the files.
 */
@Component
public class MergeChangesDelegate extends InWindowStep {
    private static final Logger log = LoggerFactory.getLogger(MergeChangesDelegate.class);
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
        // (and the disks whose boot loader the shadow reinstalled: the plan's summary told the approver)
        Object boot = execution.getVariable(BOOT_LOADER_DISKS);
        Set<String> bootDisks = boot == null || boot.toString().isBlank() ? Set.of() : new LinkedHashSet<>(List.of(boot.toString().split(" ")));
        Set<String> written = new LinkedHashSet<>(merger.disksWritten(chain, RunState.layout(execution), approvedPlan));
        written.addAll(bootDisks);
        ShadowClone clone = hypervisor.createMergeOverlay(chain, written);
        RunState.putClone(execution, clone);
        MergeResult result;
        try {
            // no operation starts past the entry's deadline (window end less the rollback margin)
            result = merger.merge(clone, RunState.layout(execution), approvedPlan, entry.deadline());
        } catch (ShadowMerger.ConflictsUnresolvedException e) {
            throw rollback(execution, "The live VM changed since the plan was approved: " + e.getMessage());
        }
        if (!bootDisks.isEmpty()) {
            try {
                merger.carryBootLoaders(clone, bootDisks).forEach(c -> log.info("run {}: {}", execution.getProcessInstanceId(), c.describe()));
            } catch (IllegalStateException e) { // the live VM's own boot loader changed since the plan: never overwritten
                throw rollback(execution, "The shadow's boot loader cannot be carried over: " + e.getMessage());
            }
        }
        execution.setVariable(MERGE_REPORT, RunState.jsonFile("merge-report.json", result.reportJson()));
        execution.setVariable(MERGE_RULE_COUNTS, RunState.toJson(RunState.sorted(result.ruleCounts())));
    }

    @Override
    protected String stepName() {
        return "Merging the shadow's changes";
    }
}
