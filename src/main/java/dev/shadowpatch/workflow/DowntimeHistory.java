package dev.shadowpatch.workflow;

import dev.shadowpatch.workflow.DowntimeForecast.PastRun;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.history.HistoricActivityInstance;
import org.camunda.bpm.engine.history.HistoricProcessInstance;
import org.camunda.bpm.engine.history.HistoricVariableInstance;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * A VM's measured downtimes, read from the engine's history for {@link DowntimeForecast}: its latest
 * finished, patched runs, each split at the end of its quiesce and merge steps (the engine's own
 * activity times) between its {@code liveDownAt} and {@code serviceVerifiedAt}, so the three parts add
 * up to the downtime it recorded. A few small queries per run, for at most {@link #LOOKED_AT} runs.
 */
public final class DowntimeHistory {
    /** Runs read: the latest patched ones, a few more than a median takes, for runs that did not measure every part. */
    static final int LOOKED_AT = DowntimeForecast.RUNS * 2;

    private DowntimeHistory() {}

    public static List<PastRun> earlierRuns(HistoryService history, String liveVm) {
        List<HistoricProcessInstance> runs = history.createHistoricProcessInstanceQuery()
                .processDefinitionKey(ProcessKeys.SHADOW_PATCHING).finished()
                .variableValueEquals(LIVE_VM, liveVm).variableValueEquals(OUTCOME, RunOutcome.PATCHED.words)
                .orderByProcessInstanceEndTime().desc().listPage(0, LOOKED_AT);
        if (runs.isEmpty()) {
            return List.of();
        }
        Map<String, Map<String, Object>> vars = new HashMap<>();
        for (HistoricVariableInstance v : history.createHistoricVariableInstanceQuery()
                .processInstanceIdIn(runs.stream().map(HistoricProcessInstance::getId).toArray(String[]::new))
                .variableNameIn(LIVE_VM, OUTCOME, LIVE_DOWN_AT, SERVICE_VERIFIED_AT, MERGE_PLAN_BYTES, MERGE_PLAN_OPERATIONS)
                .disableCustomObjectDeserialization().list()) {
            vars.computeIfAbsent(v.getProcessInstanceId(), k -> new HashMap<>()).put(v.getName(), v.getValue());
        }
        return runs.stream().map(pi -> pastRun(history, pi, vars.getOrDefault(pi.getId(), Map.of()))).toList();
    }

    private static PastRun pastRun(HistoryService history, HistoricProcessInstance pi, Map<String, Object> v) {
        Instant down = instant(v.get(LIVE_DOWN_AT));
        Instant verified = instant(v.get(SERVICE_VERIFIED_AT));
        Instant quiesced = lastEnd(history, pi.getId(), "quiesceLive", down);
        Instant merged = lastEnd(history, pi.getId(), "mergeChanges", quiesced);
        return new PastRun(pi.getId(), str(v.get(LIVE_VM)), str(v.get(OUTCOME)),
                pi.getEndTime() == null ? null : pi.getEndTime().toInstant(),
                seconds(down, quiesced), seconds(quiesced, merged), seconds(merged, verified),
                v.get(MERGE_PLAN_BYTES) instanceof Number n ? n.longValue() : null,
                v.get(MERGE_PLAN_OPERATIONS) instanceof Number n ? n.intValue() : null);
    }

    /** When the run's last instance of the step ended, if it ended after {@code notBefore} (the same window). */
    private static Instant lastEnd(HistoryService history, String runId, String activityId, Instant notBefore) {
        if (notBefore == null) {
            return null;
        }
        List<HistoricActivityInstance> last = history.createHistoricActivityInstanceQuery().processInstanceId(runId)
                .activityId(activityId).finished().orderByHistoricActivityInstanceEndTime().desc().listPage(0, 1);
        Instant end = last.isEmpty() ? null : last.get(0).getEndTime().toInstant();
        return end == null || end.isBefore(notBefore) ? null : end;
    }

    private static Double seconds(Instant from, Instant to) {
        return from == null || to == null || to.isBefore(from) ? null : Duration.between(from, to).toMillis() / 1000.0;
    }

    private static Instant instant(Object value) {
        return value instanceof Date d ? d.toInstant() : null;
    }

    private static String str(Object value) {
        return value == null ? null : value.toString();
    }
}
