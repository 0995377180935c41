package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendars;
import dev.shadowpatch.workflow.WindowCalendar.Window;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * When the window opens (its timer, or the maintenance-window process's message), checks that the
 * predicted downtime still fits before it closes. A late start (engine down, job executor busy)
 * reschedules to the next window instead of running late.
 */
@Component
public class CheckWindowDelegate implements JavaDelegate {
    private final WindowCalendars calendars;

    public CheckWindowDelegate(WindowCalendars calendars) {
        this.calendars = calendars;
    }

    @Override
    public void execute(DelegateExecution execution) {
        WindowCalendar calendar = calendars.of(execution);
        Instant now = ClockUtil.getCurrentTime().toInstant();
        Window window = new Window(((Date) execution.getVariable(WINDOW_OPENS_AT)).toInstant(),
                ((Date) execution.getVariable(WINDOW_CLOSES_AT)).toInstant());
        Duration downtime = Duration.ofSeconds(((Number) execution.getVariable(PREDICTED_DOWNTIME_SECONDS)).longValue());
        boolean fits = window.fits(now, downtime, calendar.rollbackMargin());
        execution.setVariable(WINDOW_FITS, fits);
        if (!fits) {
            Integer n = (Integer) execution.getVariable(WINDOW_RESCHEDULES);
            execution.setVariable(WINDOW_RESCHEDULES, n == null ? 1 : n + 1);
            // The requested window is spent: from now on the calendar decides.
            execution.removeVariable(REQUESTED_WINDOW_START);
            execution.removeVariable(REQUESTED_WINDOW_END);
        }
        execution.setVariable(WINDOW_DEADLINE, Date.from(calendar.deadline(window)));
    }
}
