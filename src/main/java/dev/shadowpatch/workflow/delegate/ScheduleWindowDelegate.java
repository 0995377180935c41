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
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Picks the maintenance window the merge will run in: the requested one while the predicted
 * downtime still fits in it, otherwise the next window of the calendar in which it fits. A missed
 * window is never used late. The calendar is the run's named window ({@code windowName}) or the default.
 */
@Component
public class ScheduleWindowDelegate implements JavaDelegate {
    private final WindowCalendars calendars;

    public ScheduleWindowDelegate(WindowCalendars calendars) {
        this.calendars = calendars;
    }

    @Override
    public void execute(DelegateExecution execution) {
        WindowCalendar calendar = calendars.of(execution);
        // Named always, so the maintenance-window process releases only the default calendar's runs.
        execution.setVariable(WINDOW_NAME, WindowCalendars.nameOf(execution));
        Instant now = ClockUtil.getCurrentTime().toInstant();
        Duration downtime = Duration.ofSeconds(((Number) execution.getVariable(PREDICTED_DOWNTIME_SECONDS)).longValue());
        Date missed = (Date) execution.getVariable(WINDOW_CLOSES_AT); // set when we come back from a missed window
        Instant notBefore = missed == null ? now : missed.toInstant();

        Window window = requested(execution);
        if (window == null || !window.fits(notBefore, downtime, calendar.rollbackMargin())) {
            window = calendar.next(now, notBefore, downtime);
        }
        execution.setVariable(WINDOW_OPENS_AT, Date.from(window.opens()));
        execution.setVariable(WINDOW_CLOSES_AT, Date.from(window.closes()));
        execution.setVariable(WINDOW_DEADLINE, Date.from(calendar.deadline(window)));
    }

    private static Window requested(DelegateExecution execution) {
        Object start = execution.getVariable(REQUESTED_WINDOW_START);
        Object end = execution.getVariable(REQUESTED_WINDOW_END);
        if (start == null && end == null) {
            return null;
        }
        if (start == null || end == null) {
            throw new IllegalArgumentException("Give both '" + REQUESTED_WINDOW_START + "' and '"
                    + REQUESTED_WINDOW_END + "' (ISO-8601, e.g. 2026-11-28T02:00:00Z) or neither");
        }
        Window window = new Window(instant(REQUESTED_WINDOW_START, start), instant(REQUESTED_WINDOW_END, end));
        if (!window.closes().isAfter(window.opens())) {
            throw new IllegalArgumentException("The requested window ends before it starts: " + start + " .. " + end);
        }
        return window;
    }

    private static Instant instant(String name, Object value) {
        if (value instanceof Date date) {
            return date.toInstant();
        }
        try {
            return OffsetDateTime.parse(value.toString()).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("Variable '" + name + "' = '" + value
                    + "' is not an ISO-8601 date-time with offset, e.g. 2026-11-28T02:00:00Z");
        }
    }
}
