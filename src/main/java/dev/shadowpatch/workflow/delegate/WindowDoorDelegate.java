package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.ApprovalDecision;
import dev.shadowpatch.workflow.PlanDigest;
import dev.shadowpatch.workflow.RequestedWindow;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunLedger.Approval;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendars;
import dev.shadowpatch.workflow.WindowDoor;
import dev.shadowpatch.workflow.WindowDoor.Verdict;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.history.HistoricProcessInstance;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * The window's door, reached by the run's timer or the calendar's message (and refused to anything
 * else: every in-window step checks for the entry recorded here). It gathers the facts no variable
 * can fake: the request as started and the approval with the plan's digest from the
 * {@link RunLedger}, the campaign from the engine's own super-instance link; {@link WindowDoor}
 * decides. Let in, the entry is recorded and so is {@code liveDownAt}, committed before the live VM
 * is touched (the next step is asynchronous), so the recorded downtime is never shorter than the real one.
 */
@Component
public class WindowDoorDelegate implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(WindowDoorDelegate.class);

    private final WindowCalendars calendars;
    private final RunLedger ledger;
    private final ShadowMerger merger;
    private final RunSettings settings;

    public WindowDoorDelegate(WindowCalendars calendars, RunLedger ledger, ShadowMerger merger, RunSettings settings) {
        this.calendars = calendars;
        this.ledger = ledger;
        this.merger = merger;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        String runId = execution.getProcessInstanceId();
        RunLedger.Request request = request(ledger, execution);
        WindowCalendar calendar = calendars.named(request.windowName());
        Instant now = ClockUtil.getCurrentTime().toInstant();
        Duration downtime = predictedDowntime(execution, settings);
        Verdict verdict = WindowDoor.decide(now,
                WindowDoor.admissible(now, RequestedWindow.of(request.windowStart(), request.windowEnd()), calendar),
                downtime, calendar.rollbackMargin(), approvalProblem(execution));
        execution.setVariable(WINDOW_DOOR, verdict.decision().name());
        execution.setVariable(WINDOW_DOOR_REASON, verdict.decision().words + ": " + verdict.reason());
        switch (verdict.decision()) {
            case ENTER -> {
                Instant deadline = calendar.deadline(verdict.window());
                ledger.enter(new RunLedger.WindowEntry(runId, now, verdict.window().opens(), verdict.window().closes(), deadline, null));
                execution.setVariable(WINDOW_OPENS_AT, Date.from(verdict.window().opens()));
                execution.setVariable(WINDOW_CLOSES_AT, Date.from(verdict.window().closes()));
                execution.setVariable(WINDOW_DEADLINE, Date.from(deadline));
                execution.setVariable(LIVE_DOWN_AT, Date.from(now));
                execution.removeVariable(SERVICE_VERIFIED_AT);
                execution.removeVariable(DOWNTIME_SECONDS);
                // what an earlier window of this run did is not this one's (the audit reads the last)
                execution.removeVariables(List.of(MERGE_MODE_RAN, ONLINE_FALLBACK, ONLINE_STAGED,
                        ONLINE_RESTART_UNITS));
            }
            case NOT_OPEN, TOO_LATE -> {
                Integer n = (Integer) execution.getVariable(WINDOW_RESCHEDULES);
                execution.setVariable(WINDOW_RESCHEDULES, n == null ? 1 : n + 1);
            }
            case NOT_APPROVED -> execution.setVariable(APPROVAL_PROBLEM, verdict.reason());
        }
        log.info("Run {} of {} at the window's door: {} ({})", runId, request.liveVm(), verdict.decision().words, verdict.reason());
    }

    /** Why the current plan has no valid approval, or empty when it has one. */
    private Optional<String> approvalProblem(DelegateExecution execution) {
        if (execution.getVariable(MERGE_PLAN) == null) {
            return Optional.of("the run has no merge plan");
        }
        byte[] plan = RunState.fileBytes(execution, MERGE_PLAN);
        String digest = PlanDigest.sha256(plan);
        Optional<Approval> own = ledger.latestDecision(execution.getProcessInstanceId());
        if (own.isPresent()) {
            Approval a = own.get();
            if (a.approvesPlan(digest)) {
                return Optional.empty();
            }
            return Optional.of(a.decision() != ApprovalDecision.APPROVE
                    ? "the latest decision on this run is '" + a.decision().words + "' by " + a.decidedBy()
                    : a.decidedBy() == null ? "the approval at " + a.decidedAt() + " names nobody"
                    : "the plan is not the one " + a.decidedBy() + " approved at " + a.decidedAt()
                    + " (it changed since: approve it again)");
        }
        String campaign = campaignOf(execution);
        if (campaign == null) {
            return Optional.of("nobody approved this run's plan");
        }
        Optional<Approval> decided = ledger.latestDecision(campaign);
        if (decided.isEmpty() || decided.get().decision() != ApprovalDecision.APPROVE || decided.get().decidedBy() == null) {
            return Optional.of("campaign " + campaign + " is not approved");
        }
        List<String> open = merger.openConflicts(plan);
        return open.isEmpty() ? Optional.empty() : Optional.of("the campaign's approval covers plans without conflicts;"
                + " this plan has " + open.size() + " open: " + open);
    }

    /** The campaign this run was called by, from the engine's own link (not a variable anyone can set). */
    private static String campaignOf(DelegateExecution execution) {
        HistoricProcessInstance run = execution.getProcessEngineServices().getHistoryService()
                .createHistoricProcessInstanceQuery().processInstanceId(execution.getProcessInstanceId()).singleResult();
        return run == null ? null : run.getSuperProcessInstanceId();
    }

    static RunLedger.Request request(RunLedger ledger, DelegateExecution execution) {
        return ledger.request(execution.getProcessInstanceId()).orElseThrow(() -> new IllegalStateException(
                "Run " + execution.getProcessInstanceId() + " has no request record (it was started before the request"
                        + " check existed, or the start was bypassed): abandon it and start a new run"));
    }

    /** The plan's predicted downtime, never less than the model's shutdown + boot (the variable is only a hint). */
    static Duration predictedDowntime(DelegateExecution execution, RunSettings settings) {
        Object seconds = execution.getVariable(PREDICTED_DOWNTIME_SECONDS);
        Duration floor = settings.predictDowntime(0, 0);
        Duration predicted = seconds instanceof Number n ? Duration.ofSeconds(n.longValue()) : floor;
        return predicted.compareTo(floor) < 0 ? floor : predicted;
    }
}
