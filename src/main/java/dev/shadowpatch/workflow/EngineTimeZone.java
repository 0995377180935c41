package dev.shadowpatch.workflow;

import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.context.ApplicationListener;

import java.time.ZoneId;
import java.util.TimeZone;

/**
 * One zone decides the default maintenance window: Camunda evaluates the maintenance-window
 * process's cron in the JVM's default zone ({@code ZoneId.systemDefault()} in its CronTimer), our
 * {@link WindowCalendar} in {@code shadowpatch.window.zone}. Before the engine exists, the JVM's
 * default zone is set to that zone, so the timer and the calendar name the same instants. Every node
 * of a cluster reads the same setting, so timestamps in the shared database mean the same on each.
 * Registered in META-INF/spring.factories (it must run before any bean is created).
 */
public class EngineTimeZone implements ApplicationListener<ApplicationEnvironmentPreparedEvent> {
    public static final String PROPERTY = "shadowpatch.window.zone";

    @Override
    public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
        String zone = event.getEnvironment().getProperty(PROPERTY, "UTC");
        TimeZone.setDefault(TimeZone.getTimeZone(ZoneId.of(zone)));
    }
}
