package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.RequestedWindow;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendar.Window;
import dev.shadowpatch.workflow.WindowCalendars;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.time.Instant;
import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Picks the maintenance window the merge will run in, from the request as it was started (the
 * {@link RunLedger}, not variables a task completion could have changed): the requested window while
 * the predicted downtime still fits in it, otherwise the first window of the run's calendar after it
 * (or from now) in which it fits. A missed window is never used late.
 */
@Component
public class ScheduleWindowDelegate implements JavaDelegate {
    private final WindowCalendars calendars;
    private final RunLedger ledger;
    private final RunSettings settings;

    public ScheduleWindowDelegate(WindowCalendars calendars, RunLedger ledger, RunSettings settings) {
        this.calendars = calendars;
        this.ledger = ledger;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        RunLedger.Request request = WindowDoorDelegate.request(ledger, execution);
        WindowCalendar calendar = calendars.named(request.windowName());
        // The maintenance-window process releases runs of the default calendar by this name.
        execution.setVariable(WINDOW_NAME, request.windowName());
        Instant now = ClockUtil.getCurrentTime().toInstant();
        var downtime = WindowDoorDelegate.predictedDowntime(execution, settings);
        RequestedWindow requested = RequestedWindow.of(request.windowStart(), request.windowEnd());
        Window window;
        if (requested != null && requested.window().fitsFrom(now, downtime, calendar.rollbackMargin())) {
            window = requested.window();
        } else {
            Instant notBefore = requested != null && requested.window().closes().isAfter(now) ? requested.window().closes() : now;
            window = calendar.next(now, notBefore, downtime);
        }
        execution.setVariable(WINDOW_OPENS_AT, Date.from(window.opens()));
        execution.setVariable(WINDOW_CLOSES_AT, Date.from(window.closes()));
        execution.setVariable(WINDOW_DEADLINE, Date.from(calendar.deadline(window)));
    }
}
