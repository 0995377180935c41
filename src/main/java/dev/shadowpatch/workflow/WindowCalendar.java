package dev.shadowpatch.workflow;

import org.springframework.scheduling.support.CronExpression;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * Maintenance windows ({@code shadowpatch.window.*}): a cron cycle of window starts (six fields,
 * e.g. {@code 0 0 2 ? * SAT}, also used by the maintenance-window process's timer), a duration, the
 * zone the cron is read in, and a safety margin kept free at the end of a window for a rollback.
 */
public record WindowCalendar(String cycle, Duration duration, String zone, Duration rollbackMargin) {

    public WindowCalendar {
        cycle = cycle == null ? "0 0 2 ? * SAT" : cycle;
        duration = duration == null ? Duration.ofHours(2) : duration;
        zone = zone == null ? "UTC" : zone;
        rollbackMargin = rollbackMargin == null ? Duration.ofMinutes(5) : rollbackMargin;
        CronExpression.parse(cycle); // fail at start-up, not in a window
    }

    /** A window: the run may take the live VM down from {@code opens} and must be up before {@code closes}. */
    public record Window(Instant opens, Instant closes) {
        public boolean fits(Instant now, Duration downtime, Duration margin) {
            Instant start = now.isAfter(opens) ? now : opens;
            return !start.plus(downtime).plus(margin).isAfter(closes);
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
        CronExpression cron = CronExpression.parse(cycle);
        ZonedDateTime cursor = notBefore.minus(duration).atZone(ZoneId.of(zone));
        for (int i = 0; i < 10_000; i++) {
            ZonedDateTime start = cron.next(cursor);
            if (start == null) {
                break;
            }
            Window window = new Window(start.toInstant(), start.toInstant().plus(duration));
            Instant earliest = now.isAfter(notBefore) ? now : notBefore;
            if (window.fits(earliest, downtime, rollbackMargin)) {
                return window;
            }
            cursor = start;
        }
        throw new IllegalStateException("No maintenance window found for cycle '" + cycle + "'");
    }

    public Instant deadline(Window window) {
        return window.closes().minus(rollbackMargin);
    }
}
