package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendars;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.time.Instant;
import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.WINDOW_NAME;
import static dev.shadowpatch.workflow.ProcessVariables.WINDOW_OPENS_AT;

/**
 * The maintenance-window process's step: releases the approved runs waiting for the default
 * calendar's window that is open now, and only those (a run that asked for another window keeps
 * waiting for it; runs on a named window wait for their own timer). It never makes a window: a
 * timer that fires late, after its window closed, releases nothing. Each released run still passes
 * the window's door, which decides on its own facts.
 */
@Component
public class OpenWindowDelegate implements JavaDelegate {
    private final WindowCalendar calendar;

    public OpenWindowDelegate(WindowCalendar calendar) {
        this.calendar = calendar;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        var open = calendar.openAt(now);
        if (open.isEmpty()) {
            execution.setVariable("runsReleased", 0);
            execution.setVariable("windowOpenedNote", "no window of the calendar is open at " + now
                    + " (the timer fired late): nothing released");
            return;
        }
        Date opens = Date.from(open.get().opens());
        var released = execution.getProcessEngineServices().getRuntimeService()
                .createMessageCorrelation(ProcessKeys.MESSAGE_WINDOW_OPENED)
                .processInstanceVariableEquals(WINDOW_NAME, WindowCalendars.DEFAULT)
                .processInstanceVariableEquals(WINDOW_OPENS_AT, opens) // scheduled for this very window
                .correlateAllWithResult();
        execution.setVariable(WINDOW_OPENS_AT, opens);
        execution.setVariable("runsReleased", released.size());
    }
}
