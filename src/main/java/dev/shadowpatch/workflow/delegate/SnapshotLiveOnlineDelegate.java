package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.MERGE_PLAN;

/**
 * The online merge's rollback point: the running live VM moves onto merge overlays of the disks the
 * plan writes (a quiesced external snapshot), so a failed online merge is undone by the window's
 * rollback like a failed reboot merge: the VM shut down and started on its live deltas.
 */
@Component
public class SnapshotLiveOnlineDelegate extends InWindowStep {
    private final Hypervisors hypervisors;
    private final ShadowMerger merger;

    public SnapshotLiveOnlineDelegate(Hypervisors hypervisors, ShadowMerger merger) {
        this.hypervisors = hypervisors;
        this.merger = merger;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        ShadowClone chain = RunState.clone(execution);
        ShadowClone clone = hypervisors.forHost(RunState.hostOf(execution)).snapshotToMergeOverlay(chain,
                merger.disksWritten(chain, RunState.layout(execution), RunState.fileBytes(execution, MERGE_PLAN)));
        RunState.putClone(execution, clone);
    }

    @Override
    protected String stepName() {
        return "Taking the online merge's rollback point";
    }
}
