package dev.shadowpatch.workflow;

import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

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
        return Binder.get(env).bindOrCreate("shadowpatch.window", WindowCalendar.class);
    }

    /** The default window plus the named ones of {@code shadowpatch.windows.<name>.*}. */
    @Bean
    public WindowCalendars windowCalendars(Environment env, WindowCalendar windowCalendar) {
        return new WindowCalendars(windowCalendar, Binder.get(env)
                .bind("shadowpatch.windows", Bindable.mapOf(String.class, WindowCalendar.class)).orElse(java.util.Map.of()));
    }
}
