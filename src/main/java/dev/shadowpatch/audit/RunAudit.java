package dev.shadowpatch.audit;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.evidence.PackageReport;
import dev.shadowpatch.workflow.ApprovalDecision;
import dev.shadowpatch.workflow.DowntimeForecast;
import dev.shadowpatch.workflow.PlanByDirectory;
import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.RunLedger;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.history.HistoricProcessInstance;
import org.camunda.bpm.engine.history.HistoricProcessInstanceQuery;
import org.camunda.bpm.engine.history.HistoricVariableInstance;
import org.camunda.bpm.engine.variable.value.FileValue;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.io.InputStream;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Answers an auditor's questions from the engine's history: what changed on this VM, who allowed
 * it, how long was it down. Runs under the caller's identity, so the engine's authorizations apply.
 */
@Component
public class RunAudit {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FIELDS = List.of(LIVE_VM, STARTED_BY, PATCH_COMMAND, TEST_COMMAND, PATCH_EXIT_CODE,
            TESTS_PASSED, CONFLICT_COUNT, PREDICTED_DOWNTIME_SECONDS, APPROVED_BY, APPROVED_AT, APPROVAL_COMMENT,
            WINDOW_OPENS_AT, WINDOW_CLOSES_AT, LIVE_DOWN_AT, SERVICE_VERIFIED_AT, DOWNTIME_SECONDS, MERGE_RULE_COUNTS,
            ROLLBACK_REASON, OUTCOME, WINDOW_RESCHEDULES, PACKAGE_CHANGES, PACKAGE_CHANGES_SUMMARY, PLAN_BY_DIRECTORY,
            RESTART_CLASS, RESTART_SUMMARY, RESTART_SECONDS, PREDICTED_DOWNTIME_SUMMARY, PREDICTED_DOWNTIME_PARTS,
            MERGE_MODE, MERGE_MODE_RAN, ONLINE_FALLBACK);

    private final HistoryService history;
    private final RunLedger ledger;

    public RunAudit(HistoryService history, RunLedger ledger) {
        this.history = history;
        this.ledger = ledger;
    }

    /**
     * One patch run as an auditor reads it. Times are the engine's; downtime is live VM down -> service verified.
     * {@code packageChanges}: what the patch changed in the shadow's packages, with the security ids of each
     * upgrade, or "unknown" with the reason; null for a run from before it was read.
     * {@code planByDirectory}: the merge plan (the approved one, once approved) by directory, with the
     * paths it leaves out and why; null for a run without a plan (or from before it was kept).
     * {@code restartClass}: the restart the patch needs on the live VM as found in the shadow (none,
     * services, system or unknown), {@code restartSummary} why, {@code restartSeconds} how long it took there.
     * {@code predictedDowntime}: the prediction part by part (shutdown, merge, boot), each with where it came
     * from (this VM's history, the shadow's boot, the plan, the defaults); {@code predictedDowntimeSummary} the
     * same in words; null for a run without a plan (or from before the parts were kept).
     * {@code mergeMode}: what the approval chose (reboot or online; null: reboot), {@code mergeModeRan} what
     * the window did, {@code onlineFallback} why an online merge took the reboot path instead.
     */
    public record RunRecord(String runId, String liveVm, String state, String outcome, String startedBy, Date started,
                            Date ended, String patchCommand, String testCommand, Integer patchExitCode,
                            Boolean testsPassed, Integer conflicts, Long predictedDowntimeSeconds, String approvedBy,
                            Date approvedAt, String approvalComment, Date windowOpensAt, Date windowClosesAt,
                            Integer windowReschedules, Date liveDownAt, Date serviceVerifiedAt, Double downtimeSeconds,
                            Map<String, Long> mergeRuleCounts, String rollbackReason, String packageChangesSummary,
                            PackageReport packageChanges, PlanByDirectory planByDirectory, String restartClass,
                            String restartSummary, Double restartSeconds, String predictedDowntimeSummary,
                            DowntimeForecast.Forecast predictedDowntime, String mergeMode, String mergeModeRan,
                            String onlineFallback, List<String> unreadableFields) {}

    public List<RunRecord> runs(String liveVm, int max) {
        HistoricProcessInstanceQuery query = history.createHistoricProcessInstanceQuery()
                .processDefinitionKey(ProcessKeys.SHADOW_PATCHING).orderByProcessInstanceStartTime().desc();
        if (liveVm != null && !liveVm.isBlank()) {
            query.variableValueEquals(LIVE_VM, liveVm);
        }
        return query.listPage(0, max).stream().map(this::record).toList();
    }

    public Optional<RunRecord> run(String runId) {
        HistoricProcessInstance pi = history.createHistoricProcessInstanceQuery()
                .processDefinitionKey(ProcessKeys.SHADOW_PATCHING).processInstanceId(runId).singleResult();
        return Optional.ofNullable(pi).map(this::record);
    }

    private RunRecord record(HistoricProcessInstance pi) {
        Map<String, Object> v = new HashMap<>();
        for (HistoricVariableInstance var : history.createHistoricVariableInstanceQuery()
                .processInstanceId(pi.getId()).variableNameIn(FIELDS.toArray(String[]::new)).disableCustomObjectDeserialization().list()) {
            if (var.getActivityInstanceId() == null || var.getActivityInstanceId().equals(pi.getId())
                    || !v.containsKey(var.getName())) {
                boolean file = PACKAGE_CHANGES.equals(var.getName()) || PLAN_BY_DIRECTORY.equals(var.getName());
                v.put(var.getName(), file ? var.getTypedValue() : var.getValue());
            }
        }
        String state = pi.getEndTime() == null ? "running" : "ended";
        Fields f = new Fields(v);
        // Who approved comes from the ledger row the approval task's completion wrote (its own, or its
        // campaign's), never from the approvedBy variable: anyone completing a task of the run could set that.
        Optional<RunLedger.Approval> approval = ledger.latestDecision(pi.getId())
                .or(() -> Optional.ofNullable(pi.getSuperProcessInstanceId()).flatMap(ledger::latestDecision))
                .filter(a -> a.decision() == ApprovalDecision.APPROVE);
        return new RunRecord(pi.getId(), f.get(LIVE_VM, String.class), state, f.get(OUTCOME, String.class),
                pi.getStartUserId() != null ? pi.getStartUserId() : f.get(STARTED_BY, String.class),
                pi.getStartTime(), pi.getEndTime(), f.get(PATCH_COMMAND, String.class), f.get(TEST_COMMAND, String.class),
                f.get(PATCH_EXIT_CODE, Integer.class), f.get(TESTS_PASSED, Boolean.class), f.get(CONFLICT_COUNT, Integer.class),
                asLong(v.get(PREDICTED_DOWNTIME_SECONDS)), approval.map(RunLedger.Approval::decidedBy).orElse(null),
                approval.map(a -> Date.from(a.decidedAt())).orElse(null),
                f.get(APPROVAL_COMMENT, String.class), f.get(WINDOW_OPENS_AT, Date.class), f.get(WINDOW_CLOSES_AT, Date.class),
                f.get(WINDOW_RESCHEDULES, Integer.class), f.get(LIVE_DOWN_AT, Date.class), f.get(SERVICE_VERIFIED_AT, Date.class),
                asDouble(v.get(DOWNTIME_SECONDS)), f.ruleCounts(), f.get(ROLLBACK_REASON, String.class),
                f.get(PACKAGE_CHANGES_SUMMARY, String.class), f.packageChanges(), f.planByDirectory(),
                f.get(RESTART_CLASS, String.class), f.get(RESTART_SUMMARY, String.class), asDouble(v.get(RESTART_SECONDS)),
                f.get(PREDICTED_DOWNTIME_SUMMARY, String.class), f.forecast(), f.get(MERGE_MODE, String.class),
                f.get(MERGE_MODE_RAN, String.class), f.get(ONLINE_FALLBACK, String.class), f.unreadable);
    }

    /** Typed reads of a run's variables: one of an unexpected type is named, not fatal to the whole answer. */
    private static final class Fields {
        final Map<String, Object> values;
        final List<String> unreadable = new java.util.ArrayList<>();

        Fields(Map<String, Object> values) {
            this.values = values;
        }

        <T> T get(String name, Class<T> type) {
            Object value = values.get(name);
            if (value == null || type.isInstance(value)) {
                return type.cast(value);
            }
            unreadable.add(name + " (" + value.getClass().getSimpleName() + ", expected " + type.getSimpleName() + ")");
            return null;
        }

        PackageReport packageChanges() {
            return jsonFile(PACKAGE_CHANGES, PackageReport::fromJson, "not a package report");
        }

        DowntimeForecast.Forecast forecast() {
            String json = get(PREDICTED_DOWNTIME_PARTS, String.class);
            try {
                return json == null ? null : DowntimeForecast.Forecast.fromJson(json);
            } catch (IllegalArgumentException e) {
                unreadable.add(PREDICTED_DOWNTIME_PARTS + " (not a downtime forecast)");
                return null;
            }
        }

        PlanByDirectory planByDirectory() {
            return jsonFile(PLAN_BY_DIRECTORY, PlanByDirectory::fromJson, "not a plan by directory");
        }

        /** A file variable holding JSON, parsed; one that cannot be read is named, not fatal. */
        private <T> T jsonFile(String name, java.util.function.Function<byte[], T> parse, String notIt) {
            FileValue file = get(name, FileValue.class);
            if (file == null) {
                return null;
            }
            try (InputStream in = file.getValue()) {
                return parse.apply(in.readAllBytes());
            } catch (IOException | IllegalArgumentException e) {
                unreadable.add(name + " (" + notIt + ")");
                return null;
            }
        }

        Map<String, Long> ruleCounts() {
            String json = get(MERGE_RULE_COUNTS, String.class);
            try {
                return RunAudit.ruleCounts(json);
            } catch (IllegalStateException e) {
                unreadable.add(MERGE_RULE_COUNTS + " (not a JSON map)");
                return Map.of();
            }
        }
    }

    private static Double asDouble(Object value) {
        return value instanceof Number n ? n.doubleValue() : null;
    }

    private static Long asLong(Object value) {
        return value instanceof Number n ? n.longValue() : null;
    }

    /** A run's {@code mergeRuleCounts} variable (JSON) as a map; empty when the run has none. */
    public static Map<String, Long> ruleCounts(String json) {
        if (json == null) {
            return Map.of();
        }
        try {
            return JSON.readValue(json, new TypeReference<Map<String, Long>>() {});
        } catch (IOException e) {
            throw new IllegalStateException("Variable " + MERGE_RULE_COUNTS + " is not a JSON map: " + json, e);
        }
    }
}
