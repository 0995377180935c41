package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.impl.calendar.CronTimer;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

import java.text.ParseException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;

/** Settings of runs and windows, bound from {@code shadowpatch.run.*}, {@code shadowpatch.window.*} and {@code shadowpatch.windows.*}. */
@Configuration
public class WorkflowConfiguration {

    @Bean
    public RunSettings runSettings(Environment env) {
        return Binder.get(env).bindOrCreate("shadowpatch.run", RunSettings.class);
    }

    /** Named so the maintenance-window process's timer can read its cycle: {@code ${windowCalendar.cycle()}}. */
    @Bean
    public WindowCalendar windowCalendar(Environment env) {
        WindowCalendar calendar = Binder.get(env).bindOrCreate("shadowpatch.window", WindowCalendar.class);
        requireEngineAgrees(calendar);
        return calendar;
    }

    /** The default window plus the named ones of {@code shadowpatch.windows.<name>.*}. */
    @Bean
    public WindowCalendars windowCalendars(Environment env, WindowCalendar windowCalendar) {
        return new WindowCalendars(windowCalendar, Binder.get(env)
                .bind("shadowpatch.windows", Bindable.mapOf(String.class, WindowCalendar.class)).orElse(Map.of()));
    }

    /**
     * The engine reads the maintenance-window timer's cron with its own parser (Quartz rules, the
     * JVM's zone, see {@link EngineTimeZone}); the calendar with Spring's. Both must name the same
     * window starts, or the timer would release runs at another hour than the calendar plans: the
     * start fails with both lists instead.
     */
    static void requireEngineAgrees(WindowCalendar calendar) {
        List<Instant> ours = calendar.startsAfter(Instant.now(), 8);
        List<Instant> engine = new ArrayList<>();
        try {
            CronTimer timer = CronTimer.parse(calendar.cycle());
            Date cursor = new Date();
            for (int i = 0; i < ours.size(); i++) {
                cursor = timer.getDueDate(cursor);
                engine.add(cursor.toInstant());
            }
        } catch (ParseException e) {
            throw new IllegalStateException("shadowpatch.window.cycle '" + calendar.cycle()
                    + "' is not a cron the engine's timer can read: " + e.getMessage(), e);
        }
        if (!ours.equals(engine)) {
            throw new IllegalStateException("shadowpatch.window.cycle '" + calendar.cycle() + "' in zone "
                    + calendar.zone() + " (JVM zone " + ZoneId.systemDefault() + "): the calendar's next starts " + ours
                    + " differ from the engine timer's " + engine + "; write the cron so both read it alike"
                    + " (six fields, day names like SAT)");
        }
    }
}
