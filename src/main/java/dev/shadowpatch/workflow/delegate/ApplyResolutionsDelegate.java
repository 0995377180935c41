package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.workflow.PlanDigest;
import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import org.camunda.bpm.engine.delegate.BpmnError;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Applies the operator's conflict decisions from the approval form to the plan. Lines of the form
 * {@code path = keep-live|take-shadow|hybrid|three-way} (the form writes one per conflict row; three-way
 * is the line merge, refused by the plan where diff3 did not merge the file cleanly); an optional
 * fallback decides the rest. A conflict left open, or a decision the plan refuses, sends the run back
 * to the approval task with the reason.
 */
@Component
public class ApplyResolutionsDelegate implements JavaDelegate {
    /** The operator's resolutions' words: this text format is what the form submits. */
    static final Set<String> DECISIONS = java.util.Arrays.stream(Decision.values()).filter(Decision::isResolution)
            .map(Decision::word).collect(java.util.stream.Collectors.toUnmodifiableSet());
    private final ShadowMerger merger;
    private final RunSettings settings;
    private final RunLedger ledger;

    public ApplyResolutionsDelegate(ShadowMerger merger, RunSettings settings, RunLedger ledger) {
        this.merger = merger;
        this.settings = settings;
        this.ledger = ledger;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Integer open = (Integer) execution.getVariable(CONFLICT_COUNT);
        if (open == null || open == 0) {
            execution.setVariable(APPROVAL_PROBLEM, "");
            return;
        }
        try {
            Object fallbackValue = execution.getVariable(CONFLICT_FALLBACK);
            String fallback = fallbackValue == null || fallbackValue.toString().isBlank() ? null : fallbackValue.toString();
            if (fallback != null && !DECISIONS.contains(fallback)) {
                throw reject(execution, "Unknown fallback decision '" + fallback + "'; use one of " + DECISIONS);
            }
            Map<String, String> resolutions = parse(execution, (String) execution.getVariable(CONFLICT_RESOLUTIONS));
            var plan = merger.resolve(RunState.fileBytes(execution, MERGE_PLAN), resolutions, fallback);
            PlanVariables.write(execution, plan, settings);
            // Same transaction as the approval: the plan with these decisions is the one approved.
            ledger.recordResolvedPlan(execution.getProcessInstanceId(), PlanDigest.sha256(plan.planJson()));
            execution.setVariable(APPROVAL_PROBLEM, "");
        } catch (ShadowMerger.ConflictsUnresolvedException | IllegalArgumentException e) {
            throw reject(execution, e.getMessage());
        }
    }

    private static Map<String, String> parse(DelegateExecution execution, String text) {
        Map<String, String> resolutions = new LinkedHashMap<>();
        if (text == null) {
            return resolutions;
        }
        int lineNo = 0;
        for (String line : text.split("\n")) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            int eq = line.lastIndexOf('=');
            String decision = eq < 0 ? "" : line.substring(eq + 1).trim();
            if (eq <= 0 || !DECISIONS.contains(decision)) {
                throw reject(execution, "Conflict decision line " + lineNo + " '" + line.strip()
                        + "' is not 'path = keep-live|take-shadow|hybrid|three-way'");
            }
            resolutions.put(line.substring(0, eq).trim(), decision);
        }
        return resolutions;
    }

    private static BpmnError reject(DelegateExecution execution, String problem) {
        execution.setVariable(APPROVAL_PROBLEM, problem);
        return new BpmnError(ProcessKeys.ERROR_CONFLICTS_UNRESOLVED, problem);
    }
}
