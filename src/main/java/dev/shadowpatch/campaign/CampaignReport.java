package dev.shadowpatch.campaign;

import dev.shadowpatch.audit.RunAudit;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.history.HistoricProcessInstance;
import org.camunda.bpm.engine.history.HistoricVariableInstance;
import org.camunda.bpm.engine.variable.value.FileValue;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * A campaign as operators and auditors read it, entirely from the engine's history (it survives
 * restarts and reads the same on every node): per VM its state, why it was skipped or failed, who
 * approved, the merge's rule counts and the measured downtime. Runs under the caller's identity, so
 * the engine's authorizations decide what is visible.
 */
@Component
public class CampaignReport {
    private static final String[] RUN_FIELDS = {LIVE_VM, OUTCOME, APPROVED_BY, APPROVED_AT, CONFLICT_COUNT,
            MERGE_RULE_COUNTS, PREDICTED_DOWNTIME_SECONDS, DOWNTIME_SECONDS, WINDOW_OPENS_AT, ROLLBACK_REASON,
            PATCH_EXIT_CODE, TESTS_PASSED, REQUEST_REFUSAL};
    private static final String[] CAMPAIGN_FIELDS = {CampaignVariables.NAME, CampaignVariables.PLAN,
            CampaignVariables.LEDGER, CampaignVariables.DECISION, CampaignVariables.APPROVED_BY,
            CampaignVariables.APPROVED_AT, CampaignVariables.END_REASON, CampaignVariables.OUTCOME, STARTED_BY,
            PATCH_COMMAND, TEST_COMMAND};

    private final HistoryService history;

    public CampaignReport(HistoryService history) {
        this.history = history;
    }

    /**
     * One VM's line. {@code state}: skipped, waiting, pending, not started, running, patched, failed, rolled
     * back, rejected. The patch exit code, test result, conflicts and predicted downtime are the evidence a
     * canary shows before the campaign is approved.
     */
    public record VmRow(String vm, String host, String group, String window, boolean canary, String state,
                        String reason, String runId, String approvedBy, Date approvedAt, Integer conflicts,
                        Map<String, Long> ruleCounts, Long predictedDowntimeSeconds, Double downtimeSeconds,
                        Date windowOpensAt, Integer patchExitCode, Boolean testsPassed) {}

    public record Campaign(String id, String name, String state, String outcome, String endReason, String startedBy,
                           Date started, Date ended, String patchCommand, String testCommand, String decision,
                           String approvedBy, Date approvedAt, String maxConcurrency, String maxPerHost,
                           String maxFailures, int peakInFlight, Map<String, Integer> peakInFlightPerHost,
                           Map<String, Long> vmsByState, List<VmRow> vms) {}

    /** A campaign in a list: without its VM rows. */
    public record Listed(String id, String name, String state, String outcome, String startedBy, Date started, Date ended) {}

    public List<Listed> campaigns(int max) {
        return history.createHistoricProcessInstanceQuery().processDefinitionKey(CampaignVariables.PROCESS_KEY)
                .orderByProcessInstanceStartTime().desc().listPage(0, max).stream().map(pi -> {
                    Map<String, Object> v = variables(pi.getId(), CampaignVariables.NAME, CampaignVariables.OUTCOME, STARTED_BY);
                    return new Listed(pi.getId(), (String) v.get(CampaignVariables.NAME), state(pi),
                            (String) v.get(CampaignVariables.OUTCOME), startedBy(pi, v), pi.getStartTime(), pi.getEndTime());
                }).toList();
    }

    public Optional<Campaign> campaign(String id) {
        HistoricProcessInstance pi = history.createHistoricProcessInstanceQuery()
                .processDefinitionKey(CampaignVariables.PROCESS_KEY).processInstanceId(id).singleResult();
        if (pi == null) {
            return Optional.empty();
        }
        Map<String, Object> v = variables(id, CAMPAIGN_FIELDS);
        byte[] planJson = (byte[]) v.get(CampaignVariables.PLAN);
        if (planJson == null) {
            return Optional.of(new Campaign(id, (String) v.get(CampaignVariables.NAME), state(pi), null,
                    "the request was not valid", startedBy(pi, v), pi.getStartTime(), pi.getEndTime(), null, null,
                    null, null, null, null, null, null, 0, Map.of(), Map.of(), List.of()));
        }
        CampaignPlan plan = CampaignPlan.fromJson(planJson);
        byte[] ledgerJson = (byte[]) v.get(CampaignVariables.LEDGER);
        SlotLedger ledger = ledgerJson == null ? null : SlotLedger.fromJson(plan, ledgerJson);
        Map<String, Map<String, Object>> runs = runsByVm(id);
        String endReason = (String) v.get(CampaignVariables.END_REASON);
        List<VmRow> rows = plan.vms().stream().map(e -> row(e, runs.get(e.vm()), ledger, pi.getEndTime() != null, endReason)).toList();
        Map<String, Long> byState = new TreeMap<>();
        rows.forEach(r -> byState.merge(r.state(), 1L, Long::sum));
        return Optional.of(new Campaign(id, plan.name(), state(pi), (String) v.get(CampaignVariables.OUTCOME), endReason,
                startedBy(pi, v), pi.getStartTime(), pi.getEndTime(), (String) v.get(PATCH_COMMAND),
                (String) v.get(TEST_COMMAND), (String) v.get(CampaignVariables.DECISION),
                (String) v.get(CampaignVariables.APPROVED_BY), (Date) v.get(CampaignVariables.APPROVED_AT),
                plan.maxConcurrency(), plan.maxPerHost(), plan.maxFailures(), ledger == null ? 0 : ledger.peak(),
                ledger == null ? Map.of() : ledger.peakPerHost(), byState, rows));
    }

    private static VmRow row(CampaignPlan.Entry e, Map<String, Object> run, SlotLedger ledger, boolean ended, String endReason) {
        if (e.skipped() != null) {
            return bare(e, "skipped", e.skipped());
        }
        if (run == null) {
            char s = ledger == null ? SlotLedger.PENDING : ledger.stateOf(e.vm());
            if (s == SlotLedger.STOPPED) {
                return bare(e, "not started", "failure threshold reached");
            }
            if (s == SlotLedger.WAITING) {
                return bare(e, "waiting", "waiting for a slot");
            }
            return bare(e, ended ? "not started" : "pending", ended ? endReason : "its phase has not started");
        }
        String outcome = (String) run.get(OUTCOME);
        String state = outcome == null ? "running" : outcome;
        return new VmRow(e.vm(), e.host(), e.group(), e.window(), e.canary(), state, reason(run), (String) run.get("runId"),
                (String) run.get(APPROVED_BY), (Date) run.get(APPROVED_AT), (Integer) run.get(CONFLICT_COUNT),
                RunAudit.ruleCounts((String) run.get(MERGE_RULE_COUNTS)), run.get(PREDICTED_DOWNTIME_SECONDS) instanceof Number n
                ? n.longValue() : null, (Double) run.get(DOWNTIME_SECONDS), (Date) run.get(WINDOW_OPENS_AT),
                (Integer) run.get(PATCH_EXIT_CODE), (Boolean) run.get(TESTS_PASSED));
    }

    private static String reason(Map<String, Object> run) {
        if (run.get(REQUEST_REFUSAL) != null) {
            return (String) run.get(REQUEST_REFUSAL);
        }
        if (run.get(ROLLBACK_REASON) != null) {
            return (String) run.get(ROLLBACK_REASON);
        }
        if (run.get(PATCH_EXIT_CODE) instanceof Integer code && code != 0) {
            return "patch failed in the shadow (exit code " + code + ")";
        }
        if (Boolean.FALSE.equals(run.get(TESTS_PASSED))) {
            return "regression tests failed in the shadow";
        }
        return null;
    }

    private static VmRow bare(CampaignPlan.Entry e, String state, String reason) {
        return new VmRow(e.vm(), e.host(), e.group(), e.window(), e.canary(), state, reason, null, null, null, null,
                Map.of(), null, null, null, null, null);
    }

    /** The campaign's runs (called process instances), their variables by VM name. */
    private Map<String, Map<String, Object>> runsByVm(String campaignId) {
        List<String> ids = history.createHistoricProcessInstanceQuery().superProcessInstanceId(campaignId).list()
                .stream().map(HistoricProcessInstance::getId).toList();
        Map<String, Map<String, Object>> byRun = new HashMap<>();
        for (int from = 0; from < ids.size(); from += 500) { // bounded IN lists
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 500));
            for (HistoricVariableInstance var : history.createHistoricVariableInstanceQuery()
                    .processInstanceIdIn(chunk.toArray(String[]::new)).variableNameIn(RUN_FIELDS)
                    .disableCustomObjectDeserialization().list()) {
                Map<String, Object> run = byRun.computeIfAbsent(var.getProcessInstanceId(), k -> new HashMap<>());
                // the process-level value wins over a subprocess-local one of the same name
                boolean processLevel = var.getActivityInstanceId() == null || var.getActivityInstanceId().equals(var.getProcessInstanceId());
                if (processLevel || !run.containsKey(var.getName())) {
                    run.put(var.getName(), var.getValue());
                }
            }
        }
        Map<String, Map<String, Object>> byVm = new LinkedHashMap<>();
        byRun.forEach((runId, run) -> {
            run.put("runId", runId);
            byVm.put((String) run.get(LIVE_VM), run);
        });
        return byVm;
    }

    private Map<String, Object> variables(String processInstanceId, String... names) {
        Map<String, Object> values = new HashMap<>();
        for (HistoricVariableInstance var : history.createHistoricVariableInstanceQuery().processInstanceId(processInstanceId)
                .variableNameIn(names).disableCustomObjectDeserialization().list()) {
            boolean processLevel = var.getActivityInstanceId() == null || var.getActivityInstanceId().equals(processInstanceId);
            if (processLevel || !values.containsKey(var.getName())) {
                values.put(var.getName(), var.getTypedValue() instanceof FileValue file ? bytes(file) : var.getValue());
            }
        }
        return values;
    }

    private static byte[] bytes(FileValue file) {
        try (InputStream in = file.getValue()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String state(HistoricProcessInstance pi) {
        return pi.getEndTime() == null ? "running" : "ended";
    }

    private static String startedBy(HistoricProcessInstance pi, Map<String, Object> v) {
        return pi.getStartUserId() != null ? pi.getStartUserId() : (String) v.get(STARTED_BY);
    }
}
