package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.delegate.VariableScope;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The named maintenance-window calendars ({@code shadowpatch.windows.<name>.*}, e.g. one per VM
 * group) plus the default one ({@code shadowpatch.window.*}) under the name {@value #DEFAULT}. A run
 * picks its calendar with the variable {@code windowName}; a run without one uses the default, so
 * single-VM runs behave as before named windows existed.
 */
public final class WindowCalendars {
    public static final String DEFAULT = "default";

    private final WindowCalendar defaultCalendar;
    private final Map<String, WindowCalendar> named;

    public WindowCalendars(WindowCalendar defaultCalendar, Map<String, WindowCalendar> named) {
        this.defaultCalendar = defaultCalendar;
        this.named = new TreeMap<>(named);
        if (this.named.containsKey(DEFAULT)) {
            throw new IllegalArgumentException("shadowpatch.windows." + DEFAULT
                    + " is reserved for shadowpatch.window.*; give the window another name");
        }
    }

    public WindowCalendar named(String name) {
        if (name == null || name.isBlank() || DEFAULT.equals(name)) {
            return defaultCalendar;
        }
        WindowCalendar calendar = named.get(name);
        if (calendar == null) {
            throw new IllegalArgumentException("No maintenance window named '" + name + "'; configure shadowpatch.windows."
                    + name + ".cycle/duration or use one of " + names());
        }
        return calendar;
    }

    /** The calendar of the run whose variables these are. */
    public WindowCalendar of(VariableScope run) {
        return named(nameOf(run));
    }

    /** The window name of a run: its {@code windowName} variable, or {@value #DEFAULT}. */
    public static String nameOf(VariableScope run) {
        Object name = run.getVariable(ProcessVariables.WINDOW_NAME);
        return name == null || name.toString().isBlank() ? DEFAULT : name.toString();
    }

    public boolean exists(String name) {
        return DEFAULT.equals(name) || named.containsKey(name);
    }

    public Set<String> names() {
        Set<String> all = new java.util.TreeSet<>(named.keySet());
        all.add(DEFAULT);
        return all;
    }
}
