package dev.shadowpatch.audit;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.workflow.ProcessKeys;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.history.HistoricProcessInstance;
import org.camunda.bpm.engine.history.HistoricProcessInstanceQuery;
import org.camunda.bpm.engine.history.HistoricVariableInstance;
import org.springframework.stereotype.Component;

import java.io.IOException;
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
            ROLLBACK_REASON, OUTCOME, WINDOW_RESCHEDULES);

    private final HistoryService history;

    public RunAudit(HistoryService history) {
        this.history = history;
    }

    /** One patch run as an auditor reads it. Times are the engine's; downtime is live VM down -> service verified. */
    public record RunRecord(String runId, String liveVm, String state, String outcome, String startedBy, Date started,
                            Date ended, String patchCommand, String testCommand, Integer patchExitCode,
                            Boolean testsPassed, Integer conflicts, Long predictedDowntimeSeconds, String approvedBy,
                            Date approvedAt, String approvalComment, Date windowOpensAt, Date windowClosesAt,
                            Integer windowReschedules, Date liveDownAt, Date serviceVerifiedAt, Double downtimeSeconds,
                            Map<String, Long> mergeRuleCounts, String rollbackReason) {}

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
                v.put(var.getName(), var.getValue());
            }
        }
        String state = pi.getEndTime() == null ? "running" : "ended";
        return new RunRecord(pi.getId(), (String) v.get(LIVE_VM), state, (String) v.get(OUTCOME),
                pi.getStartUserId() != null ? pi.getStartUserId() : (String) v.get(STARTED_BY),
                pi.getStartTime(), pi.getEndTime(), (String) v.get(PATCH_COMMAND), (String) v.get(TEST_COMMAND),
                (Integer) v.get(PATCH_EXIT_CODE), (Boolean) v.get(TESTS_PASSED), (Integer) v.get(CONFLICT_COUNT),
                asLong(v.get(PREDICTED_DOWNTIME_SECONDS)), (String) v.get(APPROVED_BY), (Date) v.get(APPROVED_AT),
                (String) v.get(APPROVAL_COMMENT), (Date) v.get(WINDOW_OPENS_AT), (Date) v.get(WINDOW_CLOSES_AT),
                (Integer) v.get(WINDOW_RESCHEDULES), (Date) v.get(LIVE_DOWN_AT), (Date) v.get(SERVICE_VERIFIED_AT),
                (Double) v.get(DOWNTIME_SECONDS), ruleCounts((String) v.get(MERGE_RULE_COUNTS)),
                (String) v.get(ROLLBACK_REASON));
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
