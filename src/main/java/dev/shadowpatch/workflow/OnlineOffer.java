package dev.shadowpatch.workflow;

import dev.shadowpatch.evidence.PackageChange;
import dev.shadowpatch.evidence.PackageReport;
import dev.shadowpatch.online.OnlineBlocker;
import dev.shadowpatch.online.OnlinePlan;
import dev.shadowpatch.restart.RestartClass;
import org.camunda.bpm.engine.delegate.VariableScope;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/** A run's online merge from its variables: the restart class the shadow found, the packages, the plan. */
public final class OnlineOffer {
    private OnlineOffer() {
    }

    /** The online plan of the run's current merge plan (strict: an undecided conflict blocks it). */
    public static OnlinePlan plan(VariableScope run) {
        RestartClass restart = RestartClass.ofWord(run.getVariable(RESTART_CLASS));
        List<String> packages = run.getVariable(PACKAGE_CHANGES) == null ? List.of()
                : PackageReport.fromJson(RunState.fileBytes(run, PACKAGE_CHANGES)).packages().stream().map(PackageChange::name).toList();
        FileSystemPlans plans = FileSystemPlans.fromJson(new String(RunState.fileBytes(run, MERGE_PLAN), StandardCharsets.UTF_8));
        OnlinePlan online = OnlinePlan.of(restart, packages, plans.byMountPoint());
        Object bootLoader = run.getVariable(BOOT_LOADER_DISKS);
        return bootLoader == null || bootLoader.toString().isBlank() ? online
                : online.blockedAlso(new OnlinePlan.Blocked(OnlineBlocker.BOOT_LOADER, bootLoader.toString()));
    }

    /**
     * Whether the approval form offers the online merge, and why not: the conflicts the operator
     * decides in the same form do not count (the window checks the decided plan again).
     */
    public static void record(VariableScope run) {
        OnlinePlan online = plan(run);
        List<OnlinePlan.Blocked> blockers = online.blocked().stream()
                .filter(b -> b.blocker() != OnlineBlocker.UNDECIDED_CONFLICT).toList();
        run.setVariable(ONLINE_MERGE_OFFERED, blockers.isEmpty());
        run.setVariable(ONLINE_MERGE_BLOCKERS, blockers.isEmpty() ? null : RunState.head(
                String.join("; ", blockers.stream().limit(5).map(OnlinePlan.Blocked::describe).toList())
                        + (blockers.size() > 5 ? "; +" + (blockers.size() - 5) + " more" : "")));
    }
}
