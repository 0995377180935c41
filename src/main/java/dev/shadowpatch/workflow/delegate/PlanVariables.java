package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.DowntimeForecast;
import dev.shadowpatch.workflow.DowntimeHistory;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.ProcessVariables;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger.PlanResult;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.context.Context;

import java.util.List;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * How a merge plan is kept in the run: the whole plan as a JSON file, a bounded summary, the
 * conflicts' rows and the plan by directory (JSON files the approval form renders as tables).
 */
final class PlanVariables {
    private PlanVariables() {}

    static void write(DelegateExecution execution, PlanResult plan, RunSettings settings) {
        execution.setVariable(MERGE_PLAN, RunState.jsonFile("merge-plan.json", plan.planJson()));
        if (plan.conflictRows() != null) { // a plan settled from its JSON keeps the rows it was computed with
            execution.setVariable(CONFLICT_ROWS, RunState.jsonFile("conflict-rows.json",
                    plan.conflictRows().toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        if (plan.byDirectory() != null) {
            execution.setVariable(PLAN_BY_DIRECTORY, RunState.jsonFile("plan-by-directory.json", plan.byDirectory().toJson()));
        }
        execution.setVariable(CONFLICT_COUNT, plan.unresolvedPaths().size());
        execution.setVariable(MERGE_PLAN_BYTES, plan.bytesToCopy());
        execution.setVariable(MERGE_PLAN_OPERATIONS, plan.operations());
        DowntimeForecast.Forecast forecast = forecast(execution, plan, settings);
        long predicted = forecast.totalSeconds();
        execution.setVariable(PREDICTED_DOWNTIME_SECONDS, predicted);
        execution.setVariable(PREDICTED_DOWNTIME_PARTS, forecast.toJson());
        execution.setVariable(PREDICTED_DOWNTIME_SUMMARY, forecast.summary());
        execution.setVariable(MERGE_PLAN_SUMMARY, shadowWarning(execution) + unmergedWarning(execution)
                + RunState.tail(summary(plan, predicted)));
    }

    /**
     * The downtime part by part: this VM's earlier patched runs from the engine's history (read as the
     * engine, not as the operator whose approval may be completing: the prediction is the system's),
     * the shadow's measured boot, the plan.
     */
    static DowntimeForecast.Forecast forecast(DelegateExecution execution, PlanResult plan, RunSettings settings) {
        String liveVm = RunState.clone(execution).liveVm();
        List<DowntimeForecast.PastRun> history = Context.getCommandContext().runWithoutAuthorization(() ->
                DowntimeHistory.earlierRuns(execution.getProcessEngineServices().getHistoryService(), liveVm));
        Object boot = execution.getVariable(SHADOW_BOOT_SECONDS);
        return DowntimeForecast.of(liveVm, history, boot instanceof Number n ? n.doubleValue() : null,
                plan.bytesToCopy(), plan.operations(), settings);
    }

    /** A shadow that did not shut down cleanly heads the summary (outside its tail: a long plan never hides it). */
    static String shadowWarning(DelegateExecution execution) {
        Object note = execution.getVariable(SHADOW_SHUTDOWN_NOTE);
        return note == null || note.toString().isBlank() ? ""
                : "WARNING (shadow shutdown: " + execution.getVariable(SHADOW_SHUTDOWN) + "): " + note + "\n\n";
    }

    /** What the shadow wrote that no merge carries over heads the summary too, then the boot loader the window copies. */
    static String unmergedWarning(DelegateExecution execution) {
        Object note = execution.getVariable(ProcessVariables.UNMERGED_WRITES);
        Object boot = execution.getVariable(ProcessVariables.BOOT_LOADER);
        return (note == null || note.toString().isBlank() ? "" : "WARNING: " + note + "\n\n")
                + (boot == null || boot.toString().isBlank() ? "" : "Boot loader: " + boot + "\n\n");
    }

    static String summary(PlanResult plan, long predictedSeconds) {
        StringBuilder text = new StringBuilder();
        text.append(plan.operations()).append(" operations, ").append(plan.bytesToCopy())
                .append(" bytes to copy, predicted downtime ").append(predictedSeconds).append(" s\n");
        RunState.sorted(plan.ruleCounts()).forEach((rule, n) -> text.append("  ").append(rule).append(": ").append(n).append('\n'));
        if (plan.conflicts().isEmpty()) {
            text.append("No conflicts.\n");
        } else {
            text.append(plan.conflicts().size()).append(" conflict(s), ").append(plan.unresolvedPaths().size())
                    .append(" needing your decision:\n");
            plan.conflicts().forEach(c -> text.append("  ").append(c).append('\n'));
        }
        return text.toString();
    }
}
