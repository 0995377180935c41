package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendars;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.util.Date;
import java.util.Map;

import static dev.shadowpatch.workflow.ProcessVariables.WINDOW_CLOSES_AT;
import static dev.shadowpatch.workflow.ProcessVariables.WINDOW_NAME;
import static dev.shadowpatch.workflow.ProcessVariables.WINDOW_OPENS_AT;

/**
 * The maintenance-window process's step: opens the window now for every approved run waiting for
 * one on the default calendar (runs on a named window wait for their own timer), and records how
 * many it released.
 */
@Component
public class OpenWindowDelegate implements JavaDelegate {
    private final WindowCalendar calendar;

    public OpenWindowDelegate(WindowCalendar calendar) {
        this.calendar = calendar;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Date opens = ClockUtil.getCurrentTime();
        Date closes = Date.from(opens.toInstant().plus(calendar.duration()));
        var released = execution.getProcessEngineServices().getRuntimeService()
                .createMessageCorrelation(ProcessKeys.MESSAGE_WINDOW_OPENED)
                .processInstanceVariableEquals(WINDOW_NAME, WindowCalendars.DEFAULT) // named windows have their own timers
                .setVariables(Map.of(WINDOW_OPENS_AT, opens, WINDOW_CLOSES_AT, closes))
                .correlateAllWithResult();
        execution.setVariable(WINDOW_OPENS_AT, opens);
        execution.setVariable(WINDOW_CLOSES_AT, closes);
        execution.setVariable("runsReleased", released.size());
    }
}
