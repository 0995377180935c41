package dev.shadowpatch.workflow;

import dev.shadowpatch.workflow.WindowCalendar.Window;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The window's door: the one decision whether a run may take its live VM down now. Pure: it is
 * handed the facts (the request as started, the calendar, the approval found for the plan) and
 * does not care what released the run (its timer, the calendar's message, a job executed by hand,
 * a process-instance modification). Tested by its case table ({@code WindowDoorTest}).
 */
public final class WindowDoor {
    private WindowDoor() {}

    public enum Decision {
        ENTER("let in: the window is open, the merge fits and the plan is approved"),
        NOT_APPROVED("refused: no approval of this plan"),
        NOT_OPEN("refused: the run's window is not open now"),
        TOO_LATE("refused: the predicted downtime no longer fits before the window's end less the rollback margin");

        public final String words;

        Decision(String words) {
            this.words = words;
        }
    }

    /** @param window the window let into (ENTER), or the one that was open but too short (TOO_LATE), else null */
    public record Verdict(Decision decision, Window window, String reason) {}

    /**
     * The window the run is entitled to at {@code now}: its requested window while that is open;
     * after the requested window has closed (or without one), the calendar's window open at {@code now}.
     * A calendar window before the requested one never counts: the operator asked for that one.
     */
    public static Optional<Window> admissible(Instant now, RequestedWindow requested, WindowCalendar calendar) {
        if (requested != null && requested.window().contains(now)) {
            return Optional.of(requested.window());
        }
        if (requested == null || !now.isBefore(requested.window().closes())) {
            return calendar.openAt(now);
        }
        return Optional.empty();
    }

    /**
     * @param approvalProblem why no valid approval of the current plan exists, or empty when one does
     */
    public static Verdict decide(Instant now, Optional<Window> admissible, Duration downtime, Duration margin,
                                 Optional<String> approvalProblem) {
        if (approvalProblem.isPresent()) {
            return new Verdict(Decision.NOT_APPROVED, null, approvalProblem.get());
        }
        if (admissible.isEmpty()) {
            return new Verdict(Decision.NOT_OPEN, null, "no window of this run is open at " + now);
        }
        Window window = admissible.get();
        if (!window.admits(now, downtime, margin)) {
            return new Verdict(Decision.TOO_LATE, window, "at " + now + " a downtime of " + downtime.toSeconds()
                    + " s plus the rollback margin of " + margin.toSeconds() + " s would end after the window closes at "
                    + window.closes());
        }
        return new Verdict(Decision.ENTER, window, "window " + window.opens() + " .. " + window.closes());
    }
}
