package dev.shadowpatch.workflow;

import dev.shadowpatch.workflow.WindowCalendar.Window;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Date;

import static dev.shadowpatch.workflow.ProcessVariables.REQUESTED_WINDOW_END;
import static dev.shadowpatch.workflow.ProcessVariables.REQUESTED_WINDOW_START;

/** An explicit window asked for at the start ({@code windowStart}/{@code windowEnd}, ISO-8601 with offset). */
public record RequestedWindow(Window window) {

    /** @return null when neither is given; an error naming the variable when one is missing or malformed */
    public static RequestedWindow parse(Object start, Object end) {
        boolean noStart = start == null || start.toString().isBlank();
        boolean noEnd = end == null || end.toString().isBlank();
        if (noStart && noEnd) {
            return null;
        }
        if (noStart || noEnd) {
            throw new IllegalArgumentException("give both '" + REQUESTED_WINDOW_START + "' and '" + REQUESTED_WINDOW_END
                    + "' (ISO-8601, e.g. 2026-11-28T02:00:00Z) or neither (the window calendar decides)");
        }
        Window window = new Window(instant(REQUESTED_WINDOW_START, start), instant(REQUESTED_WINDOW_END, end));
        if (!window.closes().isAfter(window.opens())) {
            throw new IllegalArgumentException("the requested window ends before it starts: " + start + " .. " + end);
        }
        return new RequestedWindow(window);
    }

    public static RequestedWindow of(Instant opens, Instant closes) {
        return opens == null ? null : new RequestedWindow(new Window(opens, closes));
    }

    private static Instant instant(String name, Object value) {
        if (value instanceof Date date) {
            return date.toInstant();
        }
        try {
            return OffsetDateTime.parse(value.toString().strip()).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + name + "' = '" + value
                    + "' is not an ISO-8601 date-time with offset, e.g. 2026-11-28T02:00:00Z");
        }
    }

    @Override
    public String toString() {
        return window.opens() + " .. " + window.closes();
    }
}
