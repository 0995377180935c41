package dev.shadowpatch.workflow;

import dev.shadowpatch.workflow.WindowCalendar.Window;
import dev.shadowpatch.workflow.WindowDoor.Decision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The window's door as a case table: the default calendar (Saturdays 02:00 UTC for two hours,
 * rollback margin 5 min), a requested window on Monday 2026-12-07 22:00-23:00, a downtime of 10 min.
 */
class WindowDoorTest {
    static final WindowCalendar SATURDAYS = new WindowCalendar("0 0 2 ? * SAT", Duration.ofHours(2), "UTC", Duration.ofMinutes(5));
    static final RequestedWindow MONDAY = RequestedWindow.of(Instant.parse("2026-12-07T22:00:00Z"), Instant.parse("2026-12-07T23:00:00Z"));
    static final Duration DOWNTIME = Duration.ofMinutes(10);

    @ParameterizedTest(name = "{0} requested={1} approved={2} -> {3}")
    @CsvSource({
            // now                  requested  approved  decision      why
            "2026-12-05T02:10:00Z,  false,     true,     ENTER",     // inside the calendar window
            "2026-12-05T01:59:59Z,  false,     true,     NOT_OPEN",  // one second early
            "2026-12-05T03:45:00Z,  false,     true,     ENTER",     // 03:45 + 10 min + 5 min = 04:00: just fits
            "2026-12-05T03:45:01Z,  false,     true,     TOO_LATE",  // one second too late to fit
            "2026-12-05T04:00:00Z,  false,     true,     NOT_OPEN",  // closed
            "2026-12-05T05:00:00Z,  false,     true,     NOT_OPEN",  // a late timer makes no window
            "2026-12-05T02:10:00Z,  true,      true,     NOT_OPEN",  // the calendar's window before the requested one
            "2026-12-07T22:00:00Z,  true,      true,     ENTER",     // the requested window opens
            "2026-12-07T21:59:00Z,  true,      true,     NOT_OPEN",
            "2026-12-07T22:50:00Z,  true,      true,     TOO_LATE",  // 22:50 + 15 min > 23:00
            "2026-12-12T02:10:00Z,  true,      true,     ENTER",     // after the requested window: the calendar again
            "2026-12-05T02:10:00Z,  false,     false,    NOT_APPROVED",
            "2026-12-05T05:00:00Z,  false,     false,    NOT_APPROVED", // no approval comes first, open or not
    })
    void decides(String now, boolean requested, boolean approved, Decision expected) {
        Instant t = Instant.parse(now);
        Optional<Window> window = WindowDoor.admissible(t, requested ? MONDAY : null, SATURDAYS);
        WindowDoor.Verdict verdict = WindowDoor.decide(t, window, DOWNTIME, SATURDAYS.rollbackMargin(),
                approved ? Optional.empty() : Optional.of("nobody approved this run's plan"));
        assertThat(verdict.decision()).as(verdict.reason()).isEqualTo(expected);
        if (expected == Decision.ENTER) {
            assertThat(verdict.window().admits(t, DOWNTIME, SATURDAYS.rollbackMargin())).isTrue();
        }
    }

    @Test
    void aCalendarFindsTheWindowOpenAtAnInstantAndNoneOutsideIt() {
        assertThat(SATURDAYS.openAt(Instant.parse("2026-12-05T03:59:59Z")))
                .contains(new Window(Instant.parse("2026-12-05T02:00:00Z"), Instant.parse("2026-12-05T04:00:00Z")));
        assertThat(SATURDAYS.openAt(Instant.parse("2026-12-05T04:00:00Z"))).isEmpty();
        assertThat(SATURDAYS.openAt(Instant.parse("2026-12-04T02:00:00Z"))).isEmpty(); // a Friday
    }

    @Test
    void theZoneOfTheCalendarDecidesItsWindows() {
        WindowCalendar berlin = new WindowCalendar("0 0 2 ? * SAT", Duration.ofHours(2), "Europe/Berlin", Duration.ofMinutes(5));
        // 02:00 in Berlin in December is 01:00 UTC
        assertThat(berlin.openAt(Instant.parse("2026-12-05T01:30:00Z"))).isPresent();
        assertThat(berlin.openAt(Instant.parse("2026-12-05T03:30:00Z"))).isEmpty();
    }

    @Test
    void aCalendarWhoseStartsTheEngineTimerWouldNotMeetStopsTheStart() {
        // The engine reads the cron in the JVM's zone (EngineTimeZone sets it from the default calendar);
        // a calendar in another zone would have the timer fire an hour off.
        java.util.TimeZone jvm = java.util.TimeZone.getDefault();
        try {
            java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("UTC"));
            assertThatThrownBy(() -> WorkflowConfiguration.requireEngineAgrees(
                    new WindowCalendar("0 0 2 ? * SAT", Duration.ofHours(2), "Europe/Berlin", Duration.ofMinutes(5))))
                    .hasMessageContaining("differ from the engine timer's");
            WorkflowConfiguration.requireEngineAgrees(SATURDAYS);
            WorkflowConfiguration.requireEngineAgrees(new WindowCalendar("0 30 1 ? * 1", Duration.ofHours(1), "UTC", Duration.ofMinutes(5)));
            java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("Europe/Berlin"));
            WorkflowConfiguration.requireEngineAgrees(
                    new WindowCalendar("0 0 2 ? * SAT", Duration.ofHours(2), "Europe/Berlin", Duration.ofMinutes(5)));
        } finally {
            java.util.TimeZone.setDefault(jvm);
        }
    }
}
