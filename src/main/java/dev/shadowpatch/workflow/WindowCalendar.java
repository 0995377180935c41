package dev.shadowpatch.workflow;

import org.springframework.scheduling.support.CronExpression;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Optional;

/**
 * Maintenance windows ({@code shadowpatch.window.*}): a cron cycle of window starts (six fields,
 * e.g. {@code 0 0 2 ? * SAT}, also used by the maintenance-window process's timer), a duration, the
 * zone the cron is read in, and a safety margin kept free at the end of a window for a rollback.
 */
public record WindowCalendar(String cycle, Duration duration, String zone, Duration rollbackMargin) {
    private static final int SEARCH_LIMIT = 10_000;

    public WindowCalendar {
        cycle = cycle == null ? "0 0 2 ? * SAT" : cycle;
        duration = duration == null ? Duration.ofHours(2) : duration;
        zone = zone == null ? "UTC" : zone;
        rollbackMargin = rollbackMargin == null ? Duration.ofMinutes(5) : rollbackMargin;
        CronExpression.parse(cycle); // fail at start-up, not in a window
        ZoneId.of(zone);
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("A maintenance window of " + duration + " is empty; give a positive duration");
        }
    }

    /** A window: the run may take the live VM down from {@code opens} and must be up before {@code closes}. */
    public record Window(Instant opens, Instant closes) {

        /**
         * Whether a merge of that downtime may start at {@code now}: the window has opened, and
         * downtime plus the rollback margin end before it closes. The one rule of the window's door.
         */
        public boolean admits(Instant now, Duration downtime, Duration margin) {
            return !now.isBefore(opens) && !now.plus(downtime).plus(margin).isAfter(closes);
        }

        /** Whether a merge starting at the later of {@code earliest} and the opening still fits (for scheduling). */
        public boolean fitsFrom(Instant earliest, Duration downtime, Duration margin) {
            return admits(earliest.isAfter(opens) ? earliest : opens, downtime, margin);
        }

        public boolean contains(Instant t) {
            return !t.isBefore(opens) && t.isBefore(closes);
        }
    }

    /**
     * The first window in which a merge of the given predicted downtime still fits, starting no
     * earlier than {@code notBefore}. A window already open counts if enough of it is left.
     */
    public Window next(Instant now, Instant notBefore, Duration downtime) {
        if (downtime.plus(rollbackMargin).compareTo(duration) > 0) {
            throw new IllegalArgumentException("Predicted downtime " + downtime + " plus rollback margin "
                    + rollbackMargin + " never fits a " + duration + " window; lengthen shadowpatch.window.duration");
        }
        Instant earliest = now.isAfter(notBefore) ? now : notBefore;
        ZonedDateTime cursor = notBefore.minus(duration).atZone(ZoneId.of(zone));
        for (int i = 0; i < SEARCH_LIMIT; i++) {
            ZonedDateTime start = cron().next(cursor);
            if (start == null) {
                break;
            }
            Window window = window(start.toInstant());
            if (window.fitsFrom(earliest, downtime, rollbackMargin)) {
                return window;
            }
            cursor = start;
        }
        throw new IllegalStateException("No maintenance window found for cycle '" + cycle + "'");
    }

    /**
     * The window of this calendar that is open at {@code t}, if any: the latest start at or before
     * {@code t} whose window has not closed. A timer that fires late finds the window it was meant
     * for only while that window lasts; it never makes a new one.
     */
    public Optional<Window> openAt(Instant t) {
        ZonedDateTime cursor = t.minus(duration).minusSeconds(1).atZone(ZoneId.of(zone));
        Window found = null;
        for (int i = 0; i < SEARCH_LIMIT; i++) {
            ZonedDateTime start = cron().next(cursor);
            if (start == null || start.toInstant().isAfter(t)) {
                break;
            }
            Window window = window(start.toInstant());
            if (window.contains(t)) {
                found = window;
            }
            cursor = start;
        }
        return Optional.ofNullable(found);
    }

    /** The next {@code count} window starts after {@code after}, in this calendar's zone. */
    public java.util.List<Instant> startsAfter(Instant after, int count) {
        java.util.List<Instant> starts = new java.util.ArrayList<>();
        ZonedDateTime cursor = after.atZone(ZoneId.of(zone));
        while (starts.size() < count) {
            ZonedDateTime start = cron().next(cursor);
            if (start == null) {
                break;
            }
            starts.add(start.toInstant());
            cursor = start;
        }
        return starts;
    }

    public Instant deadline(Window window) {
        return window.closes().minus(rollbackMargin);
    }

    private Window window(Instant opens) {
        return new Window(opens, opens.plus(duration));
    }

    private CronExpression cron() {
        return CronExpression.parse(cycle);
    }
}
